/**
 * The browser side of widgets-browser.test.ts, bundled by esbuild: a minimal notebook frontend.
 * It connects to a kernel through a Notebook server's websocket with @jupyterlab/services and renders
 * outputs, widget views through @jupyter-widgets/html-manager (the ipywidgets 8 renderer) with comms
 * over that kernel connection, as JupyterLab's widget manager does. `window.notebook.run(code)`
 * executes one cell and resolves with its reply status and text once it ends.
 */
import * as base from "@jupyter-widgets/base";
import { HTMLManager } from "@jupyter-widgets/html-manager";
import { KernelManager, ServerConnection, type Kernel, type KernelMessage } from "@jupyterlab/services";
import "@jupyter-widgets/controls/css/widgets-base.css";

const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";

class KernelWidgetManager extends HTMLManager {
  constructor(private readonly kernel: Kernel.IKernelConnection) {
    super();
    kernel.registerCommTarget(this.comm_target_name, async (comm, message) => {
      await this.handle_comm_open(new base.shims.services.Comm(comm), message);
    });
  }

  override async _create_comm(targetName: string, modelId: string, data?: unknown, metadata?: unknown): Promise<base.shims.services.Comm> {
    const comm = this.kernel.createComm(targetName, modelId);
    if (data || metadata) comm.open(data as never, metadata as never);
    return new base.shims.services.Comm(comm);
  }

  override async _get_comm_info(): Promise<{}> {
    const reply = await this.kernel.requestCommInfo({ target_name: this.comm_target_name });
    return (reply.content as { comms: {} }).comms;
  }
}

type Bundle = Record<string, unknown>;

async function start(): Promise<{ run(code: string): Promise<{ status: string; text: string }> }> {
  const params = new URLSearchParams(location.search);
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: `${location.origin}/`,
    wsUrl: `${location.origin.replace(/^http/, "ws")}/`,
    token: params.get("token") ?? "",
    appendToken: true, // the websocket authenticates with the token, not a login cookie
    // The classic Notebook server speaks only the default websocket protocol: offering the v1
    // subprotocol first would fail one handshake (a console error) before services falls back.
    WebSocket: class extends WebSocket {
      constructor(url: string | URL) {
        super(url);
      }
    },
  });
  const kernel = await new KernelManager({ serverSettings }).startNew({ name: params.get("kernel") ?? "tokenlab" });
  const manager = new KernelWidgetManager(kernel);
  const displays = new Map<string, HTMLElement>();

  async function render(area: HTMLElement, bundle: Bundle): Promise<void> {
    const view = bundle[WIDGET_VIEW] as { model_id: string } | undefined;
    if (view) {
      // An update of the same widget keeps its live view (as JupyterLab keeps the rendered model).
      if (area.dataset.modelId === view.model_id) return;
      area.dataset.modelId = view.model_id;
      area.replaceChildren();
      const model = await manager.get_model(view.model_id);
      await manager.display_view(manager.create_view(model), area);
      return;
    }
    delete area.dataset.modelId;
    if (typeof bundle["text/html"] === "string") area.innerHTML = bundle["text/html"];
    else area.textContent = String(bundle["text/plain"] ?? "");
  }

  async function run(code: string): Promise<{ status: string; text: string }> {
    const cell = document.createElement("div");
    cell.className = "cell";
    document.body.append(cell);
    const rendering: Array<Promise<void>> = [];
    const future = kernel.requestExecute({ code, store_history: true });
    future.onIOPub = (message: KernelMessage.IIOPubMessage) => {
      const type = message.header.msg_type;
      const content = message.content as { data?: Bundle; transient?: { display_id?: string }; text?: string; ename?: string; evalue?: string };
      if (type === "stream" || type === "error") {
        const pre = document.createElement("pre");
        pre.className = type;
        pre.textContent = type === "error" ? `${content.ename}: ${content.evalue}` : (content.text ?? "");
        cell.append(pre);
        return;
      }
      if (type !== "display_data" && type !== "execute_result" && type !== "update_display_data") return;
      const id = content.transient?.display_id;
      let area = id === undefined ? undefined : displays.get(id);
      if (!area) {
        if (type === "update_display_data") return;
        area = document.createElement("div");
        area.className = "output";
        cell.append(area);
        if (id !== undefined) displays.set(id, area);
      }
      rendering.push(render(area, content.data ?? {}).catch((error) => console.error(`render failed: ${error}`)));
    };
    const reply = await future.done;
    await Promise.all(rendering);
    return { status: String((reply.content as { status: string }).status), text: cell.innerText };
  }

  return { run };
}

(window as unknown as { notebook: Promise<unknown> }).notebook = start();
