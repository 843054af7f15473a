import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadModel } from "../../lib/models/load-model";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { writeTinyCheckpoint, type TinyCheckpoint, type TinyCheckpointOptions } from "../fixtures/tiny-checkpoint";
import { numpy } from "./numpy";

/** A tiny random checkpoint on disk and the model loaded from it; `remove()` deletes the directory. */
export async function tinyModel(options: TinyCheckpointOptions = {}): Promise<{ model: TransformerLM; checkpoint: TinyCheckpoint; remove(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-tokens-"));
  const checkpoint = writeTinyCheckpoint(dir, options);
  const model = await loadModel(dir);
  return { model, checkpoint, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A float32 tensor read from a safetensors file by numpy alone (independent of lib/hf), as nested lists. */
export function readTensorWithNumpy(file: string, name: string): number[][] {
  return numpy(
    [
      "raw = open(data['file'], 'rb').read()",
      "n = int.from_bytes(raw[:8], 'little'); header = json.loads(raw[8:8 + n]); entry = header[data['name']]",
      "assert entry['dtype'] == 'F32', entry['dtype']",
      "begin, end = entry['data_offsets']",
      "result = np.frombuffer(raw[8 + n + begin: 8 + n + end], dtype='<f4').reshape(entry['shape']).astype(float).tolist()",
    ].join("\n"),
    { file, name },
  );
}
