import { native } from '../binding.js';
import { Tensor } from '../tensor.js';
import { integer, shapeString } from '../validate.js';
import { floatArg, sameDevice, tensorArg, wrap } from './check.js';

function logitsAndLabels(logits: Tensor, labels: Tensor): [number, number] {
  const lt = floatArg(logits, 'logits', 2);
  const yt = tensorArg(labels, 'labels');
  if (yt.dtype !== 'int32') throw new TypeError(`labels must be an int32 tensor, got ${yt.dtype}`);
  sameDevice([lt, 'logits'], [yt, 'labels']);
  if (yt.shape.length !== 1 || yt.shape[0] !== lt.shape[0])
    throw new RangeError(`labels must have shape [${lt.shape[0]}] to match logits ${shapeString(lt.shape)}, got ${shapeString(yt.shape)}`);
  return [lt.shape[0]!, lt.shape[1]!];
}

async function readScalar(t: Tensor): Promise<number> {
  try {
    return (await t.toArray())[0]!;
  } finally {
    t.dispose();
  }
}

/**
 * Mean softmax cross-entropy over the batch, stable for huge logits. `loss` resolves once the
 * device has computed it (softmaxCrossEntropyTensor keeps it on the device instead).
 * Labels must lie in [0, classes); the device checks it and the loss rejects otherwise.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): { loss: Promise<number>; dlogits: Tensor } {
  logitsAndLabels(logits, labels);
  const r = native.softmaxCrossEntropy(logits.native, labels.native);
  const loss = readScalar(wrap(r.loss));
  loss.catch(() => undefined); // the caller may never await it; the error is theirs if they do
  return { loss, dlogits: wrap(r.dlogits) };
}

/**
 * softmaxCrossEntropy with the loss left on the device as a float32 tensor of shape [] (for
 * callers that combine it with other work before reading it, e.g. a mean over processes).
 */
export function softmaxCrossEntropyTensor(logits: Tensor, labels: Tensor): { loss: Tensor; dlogits: Tensor } {
  logitsAndLabels(logits, labels);
  const r = native.softmaxCrossEntropy(logits.native, labels.native);
  return { loss: wrap(r.loss), dlogits: wrap(r.dlogits) };
}

/** Row-wise softmax probabilities of [N, classes] logits. */
export function softmax(logits: Tensor): Tensor {
  return wrap(native.softmax(floatArg(logits, 'logits', 2)));
}

/**
 * How many rows have their label among the k largest logits (top-1 with k = 1, top-5 with 5).
 * A row counts iff its label's logit is not NaN and fewer than k other logits are >= it or NaN:
 * ties and NaN count against the label, so a model whose logits are all equal (or NaN) scores 0
 * rather than looking perfect.
 */
export function topkCorrect(logits: Tensor, labels: Tensor, k: number): Promise<number> {
  const [, classes] = logitsAndLabels(logits, labels);
  integer(k, 'k', 1, classes);
  return readScalar(wrap(native.topkCorrect(logits.native, labels.native, { k })));
}
