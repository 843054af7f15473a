import * as tf from "@tensorflow/tfjs-core";
import { TokenlabError } from "../errors/tokenlab-error";

export interface ParameterGroup {
  /** Shown in errors and logs, e.g. "embeddings" or "layers 10-11". */
  name: string;
  params: tf.Variable[];
  learningRate: number;
  /** Decoupled weight decay (AdamW); 0 for none. */
  weightDecay: number;
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** One parameter's optimizer state: the two moments, in JS memory (see AdamW). */
export interface Moments {
  m: Float32Array;
  v: Float32Array;
  steps: number;
}

/**
 * AdamW as torch.optim.AdamW computes it: p ← p·(1 − lr·wd), then the bias-corrected Adam update
 * p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε). Each group has its own learning rate (change it
 * between steps with setLearningRate, e.g. from a schedule) and weight decay. Parameters without a
 * gradient in a step are skipped, like torch parameters whose .grad is None.
 *
 * The moments are Float32Arrays in JS memory and the update is one fused loop over the elements:
 * on the wasm backend, moments as tensors took 2× the trained weights of the 4 GB heap, and the
 * update's ~12 whole-tensor intermediates another ~12× the largest parameter (full fine-tuning of a
 * 151k × 576 embedding needed ~8 GB). Now the heap holds only the new parameter value.
 */
export class AdamW {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly moments = new Map<tf.Variable, Moments>();
  private readonly groups: ParameterGroup[];

  constructor(groups: ParameterGroup[], options: AdamWOptions = {}) {
    this.groups = groups.map((g) => ({ ...g, params: [...g.params] }));
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    const seen = new Set<tf.Variable>();
    for (const group of this.groups) {
      for (const p of group.params) {
        if (seen.has(p)) throw new TokenlabError(`variable ${p.name} is in more than one parameter group`, { group: group.name });
        seen.add(p);
      }
    }
  }

  setLearningRate(groupName: string, learningRate: number): void {
    const group = this.groups.find((g) => g.name === groupName);
    if (!group) throw new TokenlabError(`no parameter group named "${groupName}"`, { groups: this.groups.map((g) => g.name) });
    group.learningRate = learningRate;
  }

  learningRate(groupName: string): number | undefined {
    return this.groups.find((g) => g.name === groupName)?.learningRate;
  }

  /**
   * Applies one update with the gradients times `gradScale` (the clipping factor, applied in the
   * update's loop instead of a scaled copy of every gradient). `grads` is keyed by variable name
   * (as tf.variableGrads returns); not disposed here.
   */
  step(grads: Readonly<Record<string, tf.Tensor>>, gradScale = 1): void {
    this.prepare(grads, gradScale).apply();
  }

  /**
   * Computes the update without applying anything: `nonFinite` lists the parameters whose new value
   * would hold a NaN or infinity, `apply()` commits the moments and values. Lets a training step
   * refuse a bad update without keeping a copy of the old weights to restore.
   */
  prepare(grads: Readonly<Record<string, tf.Tensor>>, gradScale = 1): { nonFinite: tf.Variable[]; apply: () => void } {
    const pending: Array<() => void> = [];
    const nonFinite: tf.Variable[] = [];
    for (const group of this.groups) {
      for (const param of group.params) {
        const grad = grads[param.name];
        if (grad === undefined) continue;
        if (grad.shape.join(",") !== param.shape.join(",")) {
          throw new TokenlabError(`gradient for ${param.name} has shape [${grad.shape}], parameter is [${param.shape}]`);
        }
        const update = this.update(param, grad, gradScale, group);
        if (!update.finite) nonFinite.push(param);
        pending.push(update.apply);
      }
    }
    return { nonFinite, apply: () => pending.forEach((apply) => apply()) };
  }

  /** The new value of `param` (JS memory) and a commit that also advances its moments. */
  private update(param: tf.Variable, grad: tf.Tensor, gradScale: number, group: ParameterGroup): { finite: boolean; apply: () => void } {
    const state = this.moments.get(param) ?? { m: new Float32Array(param.size), v: new Float32Array(param.size), steps: 0 };
    const { m, v } = state;
    const steps = state.steps + 1;
    const { beta1, beta2, epsilon } = this;
    const lr = group.learningRate;
    const stepSize = lr / (1 - beta1 ** steps);
    const sqrtCorrection2 = Math.sqrt(1 - beta2 ** steps);
    const decay = 1 - lr * group.weightDecay;
    const g = grad.dataSync() as Float32Array; // a copy on wasm, freed on return (apply() reads again)
    // Read only: on the cpu backend dataSync is the tensor's own storage (shared with the base model).
    const p = param.dataSync() as Float32Array;
    const out = new Float32Array(p.length);
    let finite = true;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * gradScale;
      const mi = Math.fround(beta1 * m[i] + (1 - beta1) * gi);
      const vi = Math.fround(beta2 * v[i] + (1 - beta2) * gi * gi);
      out[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtCorrection2 + epsilon);
      if (!Number.isFinite(out[i])) finite = false;
    }
    return {
      finite,
      // The moments are recomputed here rather than kept (two more arrays the size of the parameter),
      // from the gradient read again: `grads` must still be alive when apply() runs.
      apply: () => {
        const gNow = grad.dataSync() as Float32Array;
        for (let i = 0; i < m.length; i++) {
          const gi = gNow[i] * gradScale;
          m[i] = beta1 * m[i] + (1 - beta1) * gi;
          v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        }
        state.steps = steps;
        this.moments.set(param, state);
        const updated = tf.tensor(out, param.shape, "float32");
        param.assign(updated);
        updated.dispose();
      },
    };
  }

  /** The moments and update count of `param` (undefined before its first update); borrowed, not copies. */
  momentsOf(param: tf.Variable): Moments | undefined {
    return this.moments.get(param);
  }

  /** Sets the state of `param` (a saved run continuing) to copies of `state`. */
  setMoments(param: tf.Variable, state: Moments): void {
    if (!this.groups.some((g) => g.params.includes(param))) throw new TokenlabError(`variable ${param.name} is not in this optimizer`);
    if (state.m.length !== param.size || state.v.length !== param.size) {
      throw new TokenlabError(`moments of ${param.name} have ${state.m.length} / ${state.v.length} values, the parameter ${param.size}`);
    }
    this.moments.set(param, { m: Float32Array.from(state.m), v: Float32Array.from(state.v), steps: state.steps });
  }

  /** Drops the moments (JS memory, reclaimed by the garbage collector). */
  dispose(): void {
    this.moments.clear();
  }
}
