// Softmax, mean softmax cross-entropy and top-k accuracy, one row per iteration. Rows are
// normalised by their maximum and summed in double, so logits of any size (N(0, 60^2) and beyond)
// neither overflow nor lose the small probabilities.
#include <cmath>
#include <string>

#include "cpu_internal.hpp"

namespace alexnet {
namespace cpu {

namespace {

// The sizes were checked by the core's meta functions; labels are data, checked here.
void checkLabels(int n, int classes, const int32_t* labels) {
  for (int i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      invalidArgument("label " + std::to_string(labels[i]) + " of row " + std::to_string(i) +
                      " is outside [0, " + std::to_string(classes) + ")");
}

// Writes exp(z - max) / sum to p (may be null) and returns log(sum) (so that
// logsumexp = max + log(sum)); `maxOut` receives the row maximum.
inline double softmaxRow(int classes, const float* z, float* p, float* maxOut) {
  float m = z[0];
  for (int j = 1; j < classes; ++j) m = z[j] > m ? z[j] : m;
  double sum = 0.0;
  for (int j = 0; j < classes; ++j) {
    double e = std::exp(static_cast<double>(z[j]) - m);
    sum += e;
    if (p) p[j] = static_cast<float>(e);
  }
  if (p) {
    const double inv = 1.0 / sum;
    for (int j = 0; j < classes; ++j) p[j] = static_cast<float>(p[j] * inv);
  }
  *maxOut = m;
  return std::log(sum);
}

}  // namespace

void CpuBackend::softmaxCrossEntropy(int n, int classes, const float* logits,
                                     const int32_t* labels, float* loss, float* dlogits) {
  checkLabels(n, classes, labels);
  rowLoss_.resize(static_cast<size_t>(n));
  double* rowLoss = rowLoss_.data();
  const float invN = 1.0f / static_cast<float>(n);
#pragma omp parallel for schedule(static) if (static_cast<long>(n) * classes >= 16384)
  for (int i = 0; i < n; ++i) {
    const float* z = logits + static_cast<long>(i) * classes;
    float* d = dlogits ? dlogits + static_cast<long>(i) * classes : nullptr;
    float m;
    double logSum = softmaxRow(classes, z, d, &m);
    // -log softmax[label] = logsumexp - z[label] = log(sum) - (z[label] - max) >= 0
    rowLoss[i] = logSum - (static_cast<double>(z[labels[i]]) - m);
    if (d) {
      d[labels[i]] -= 1.0f;
      for (int j = 0; j < classes; ++j) d[j] *= invN;
    }
  }
  double total = 0.0;
  for (int i = 0; i < n; ++i) total += rowLoss[i];
  if (loss) *loss = static_cast<float>(total / n);
}

void CpuBackend::softmax(int n, int classes, const float* logits, float* probs) {
#pragma omp parallel for schedule(static) if (static_cast<long>(n) * classes >= 16384)
  for (int i = 0; i < n; ++i) {
    float m;
    softmaxRow(classes, logits + static_cast<long>(i) * classes,
               probs + static_cast<long>(i) * classes, &m);
  }
}

void CpuBackend::topkCorrect(int n, int classes, int k, const float* logits,
                             const int32_t* labels, float* correct) {
  checkLabels(n, classes, labels);
  long hits = 0;
  // Ties and NaN count against the label: its rank is the number of other logits that are >= it
  // or NaN, and a NaN label logit is never correct.
  for (int i = 0; i < n; ++i) {
    const float* z = logits + static_cast<long>(i) * classes;
    const int label = labels[i];
    const float t = z[label];
    if (std::isnan(t)) continue;
    int rank = 0;
    for (int j = 0; j < classes; ++j) rank += !(z[j] < t);  // >= t, or NaN
    hits += rank - 1 < k;  // rank counts the label itself
  }
  *correct = static_cast<float>(hits);
}

}  // namespace cpu
}  // namespace alexnet
