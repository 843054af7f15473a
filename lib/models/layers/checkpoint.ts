import * as tf from "@tensorflow/tfjs-core";

/** A block: x and the per-call tensors it reads (RoPE tables, masks), which must be passed, not closed over. */
export type Block = (x: tf.Tensor, constants: readonly tf.Tensor[]) => tf.Tensor;

/**
 * y = block(x, constants) recorded on a gradient tape as ONE op (activation checkpointing): the forward pass
 * keeps only x, and the backward pass recomputes the block to differentiate it. tfjs holds every
 * intermediate and every intermediate gradient of a tape until the whole backward pass ends —
 * for a 30-layer model at 256 tokens that is over 2 GB, more than the wasm heap has to spare.
 *
 * Gradients flow to x and to `trainable` (tensors the block reads, e.g. the tf.Variables of a
 * training run); every other tensor the block closes over is treated as frozen and must outlive
 * the backward pass (model weights do). `constants` are kept for the recomputation (tensors made
 * during the forward call are gone by then) and get no gradient.
 */
export function checkpointed(block: Block, x: tf.Tensor, constants: readonly tf.Tensor[], trainable: readonly tf.Tensor[]): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    save([inputs[0], ...constants]);
    return {
      value: tf.tidy(() => block(inputs[0], constants)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [input, ...savedConstants] = saved;
        const grads = recomputeGradients(block, input, savedConstants, trainable, dy);
        return [...grads, ...constants.map((c) => tf.zerosLike(c))];
      },
    };
  });
  return op(x, ...trainable, ...constants);
}

/**
 * Gradients of block at `input` with respect to it and the trainable tensors. The trainable
 * tensors are the same objects the block closes over, so the inner tape sees them directly.
 * tfjs' engine resets its active tape when a gradient computation ends; the outer backward pass
 * still needs it (it frees the saved tensors with it), so it is put back.
 */
function recomputeGradients(
  block: Block,
  input: tf.Tensor,
  constants: readonly tf.Tensor[],
  trainable: readonly tf.Tensor[],
  dy: tf.Tensor,
): tf.Tensor[] {
  const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
  const outerTape = state.activeTape;
  try {
    // Differentiate w.r.t. the input and the trainable tensors themselves (closed over by block).
    const { value, grads } = tf.engine().gradients(() => block(input, constants), [input, ...trainable], dy, true);
    value.dispose();
    return grads.map((g, i) => g ?? tf.zerosLike([input, ...trainable][i]));
  } finally {
    state.activeTape = outerTape;
  }
}
