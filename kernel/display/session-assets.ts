import { ONCE_ASSET } from "../../lib/display/plotly-html";

/** The output that carries an asset: the request that produced it, its notebook cell, its display id. */
export interface AssetOwner {
  requestId: string;
  cellId?: string;
  displayId?: string;
}

/**
 * Ships each once-asset in one output per kernel session and strips it from later ones, which then
 * use the copy the page (or the exported HTML) already has. The carrying output must survive in the
 * saved notebook, so the asset ships again once that output may be gone: its cell ran again
 * (frontends that send `cellId`), or it was cleared. Updates of the carrying display id keep it.
 */
export class SessionAssets {
  private readonly owners = new Map<string, AssetOwner>();

  dedupe(html: string, owner: AssetOwner): string {
    return html.replace(ONCE_ASSET, (asset, key: string) => {
      const current = this.owners.get(key);
      if (current && !(current.displayId !== undefined && current.displayId === owner.displayId)) return "";
      this.owners.set(key, current ?? owner);
      return asset;
    });
  }

  /** A request starts executing a cell: the outputs that cell showed before are about to be replaced. */
  executionStarted(cellId: string | undefined): void {
    if (cellId !== undefined) this.release((owner) => owner.cellId === cellId);
  }

  /** clear_output for a request: whatever it showed is gone. */
  outputCleared(requestId: string): void {
    this.release((owner) => owner.requestId === requestId);
  }

  private release(gone: (owner: AssetOwner) => boolean): void {
    for (const [key, owner] of this.owners) if (gone(owner)) this.owners.delete(key);
  }
}
