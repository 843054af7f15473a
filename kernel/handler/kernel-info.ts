import { join } from "node:path";
import { PROTOCOL_VERSION } from "../protocol/message";
import { PACKAGE_ROOT } from "../execution/package-root";
import { typeScriptVersion } from "../execution/typescript-loader";
import type { NativeBlasStatus } from "../../lib/backend/native-blas";

const BACKEND_MODULE = join(PACKAGE_ROOT, "lib", "backend", "init-backend.ts");
const BLAS_MODULE = join(PACKAGE_ROOT, "lib", "backend", "native-blas.ts");

/**
 * The tfjs backend in use, read from lib/backend only when a cell has already loaded it:
 * kernel_info must stay fast and must not pick a backend on the user's behalf.
 */
function activeBackend(): string {
  const loaded = require.cache[BACKEND_MODULE]?.exports as { backend?: () => string } | undefined;
  try {
    if (loaded?.backend) {
      const name = loaded.backend();
      return name === "wasm" ? `wasm; matrix products: ${matmulLibrary()}` : name;
    }
  } catch {
    // not initialized yet
  }
  return "none yet (initBackend() picks node-gpu, node, wasm or cpu; TOKENLAB_BACKEND overrides)";
}

/** Where the wasm backend's matrix products run (native-blas.ts is loaded with the backend). */
function matmulLibrary(): string {
  const blas = require.cache[BLAS_MODULE]?.exports as { nativeBlasStatus?: () => NativeBlasStatus } | undefined;
  const status = blas?.nativeBlasStatus?.();
  if (!status) return "unknown";
  return status.active ? `${status.config.split(" ").slice(0, 2).join(" ")}, ${status.threads} threads` : `wasm kernels (${status.reason})`;
}

export function kernelInfoContent(): Record<string, unknown> {
  const { version } = require(join(PACKAGE_ROOT, "package.json")) as { version: string };
  const typescript = typeScriptVersion();
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "tokenlab",
    implementation_version: version,
    language_info: {
      name: "typescript",
      version: typescript,
      mimetype: "text/typescript",
      file_extension: ".ts",
      codemirror_mode: "typescript",
      pygments_lexer: "typescript",
    },
    banner: `tokenlab ${version}: TypeScript ${typescript} on Node ${process.version}; tfjs backend: ${activeBackend()}`,
    help_links: [],
    debugger: false,
  };
}
