/*
 * Fused float32 kernels for the tfjs wasm backend, called through Deno FFI
 * on tensors that live in the wasm heap (see lib/fast/native_kernels.ts).
 *
 * Why C: the profile of a training step (docs in lib/fast/README.md) showed
 * that after the matmuls moved to BLAS, most of the time went to elementwise
 * and reduction kernels that tfjs-wasm runs one scalar libm call at a time
 * (tanh, exp) or through a transpose (sums over rows). Plain loops compiled
 * with -O3 -march=native vectorise; `fast_exp` below is written so that they
 * can (no libm call inside the loops).
 *
 * Every function is a straight loop a reader can check against the formula
 * in its comment; tests/native_kernels_test.ts compares each one with the
 * tfjs composite it replaces.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* e^x with ~1 ulp relative error on [-87, 88]: x = n·ln2 + r, e^r by a
 * degree-7 Taylor polynomial (|r| ≤ ln2/2), 2^n by building the float's
 * exponent bits. Above 88 it saturates at e^88; below -87 it is exactly 0
 * (a masked score must give a weight of 0, not a denormal: denormals make
 * every later multiply, BLAS included, many times slower). */
static inline float fast_exp(float x_in) {
  const float x = x_in < -87.0f ? -87.0f : (x_in > 88.0f ? 88.0f : x_in);
  const float n = floorf(x * 1.44269504088896341f + 0.5f);
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  union { int32_t i; float f; } scale;
  scale.i = ((int32_t)n + 127) << 23;
  return x_in < -87.0f ? 0.0f : p * scale.f;
}

/* tanh(u) = 1 − 2 / (e^{2u} + 1); absolute error ~1e-7, which is what GELU needs. */
static inline float fast_tanh(float u) { return 1.0f - 2.0f / (fast_exp(2.0f * u) + 1.0f); }

#define SQRT_2_OVER_PI 0.7978845608028654f
#define GELU_COEF 0.044715f

/* HF "gelu_new": y = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
void gelu_new_forward(const float *restrict x, float *restrict y, int32_t n) {
  for (int32_t i = 0; i < n; i++) {
    const float v = x[i];
    const float t = fast_tanh(SQRT_2_OVER_PI * (v + GELU_COEF * v * v * v));
    y[i] = 0.5f * v * (1.0f + t);
  }
}

/* dx = dy · [½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)]. */
void gelu_new_backward(const float *restrict x, const float *restrict dy, float *restrict dx, int32_t n) {
  for (int32_t i = 0; i < n; i++) {
    const float v = x[i];
    const float t = fast_tanh(SQRT_2_OVER_PI * (v + GELU_COEF * v * v * v));
    const float du = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_COEF * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
  }
}

/* LayerNorm over rows of length C (biased variance, as torch):
 * y = (x − μ)·rstd·w + b, rstd = 1/√(σ² + eps). Saves μ and rstd per row. */
void layer_norm_forward(const float *restrict x, const float *restrict w, const float *restrict b,
                        int32_t rows, int32_t C, float eps,
                        float *restrict y, float *restrict mean, float *restrict rstd) {
  for (int32_t r = 0; r < rows; r++) {
    const float *xr = x + (int64_t)r * C;
    float *yr = y + (int64_t)r * C;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int32_t i = 0; i < C; i++) s += xr[i];
    const float mu = s / C;
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int32_t i = 0; i < C; i++) ss += (xr[i] - mu) * (xr[i] - mu);
    const float rs = 1.0f / sqrtf(ss / C + eps);
    for (int32_t i = 0; i < C; i++) yr[i] = (xr[i] - mu) * rs * w[i] + b[i];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

/* With x̂ = (x − μ)·rstd and g = dy·w:
 *   dx = rstd · (g − mean(g) − x̂·mean(g·x̂)),  dw = Σ_rows dy·x̂,  db = Σ_rows dy. */
void layer_norm_backward(const float *restrict x, const float *restrict w, const float *restrict mean,
                         const float *restrict rstd, const float *restrict dy, int32_t rows, int32_t C,
                         float *restrict dx, float *restrict dw, float *restrict db) {
  memset(dw, 0, sizeof(float) * C);
  memset(db, 0, sizeof(float) * C);
  for (int32_t r = 0; r < rows; r++) {
    const float *xr = x + (int64_t)r * C;
    const float *dyr = dy + (int64_t)r * C;
    float *dxr = dx + (int64_t)r * C;
    const float mu = mean[r], rs = rstd[r];
    float sum_g = 0.0f, sum_gx = 0.0f;
#pragma omp simd reduction(+ : sum_g, sum_gx)
    for (int32_t i = 0; i < C; i++) {
      const float xhat = (xr[i] - mu) * rs;
      const float g = dyr[i] * w[i];
      sum_g += g;
      sum_gx += g * xhat;
      dw[i] += dyr[i] * xhat;
      db[i] += dyr[i];
    }
    const float mean_g = sum_g / C, mean_gx = sum_gx / C;
    for (int32_t i = 0; i < C; i++) {
      const float xhat = (xr[i] - mu) * rs;
      dxr[i] = rs * (dyr[i] * w[i] - mean_g - xhat * mean_gx);
    }
  }
}

/* Sampling one token per row of logits z [rows, V] from softmax(z / temperature),
 * with the uniform draw u[row] in [0, 1): the first index where the running sum
 * of the weights w_i = e^((z_i − max) / temperature) exceeds u·Σw, and its
 * log-probability log(w / Σw). The same walk as sampleFullSoftmax in
 * lib/generate/sampling.ts, whose JS exp over a 50,257-token vocabulary was
 * most of a generation step; sums are in double. (fast_exp gives exactly 0
 * below e^-87: such a token is < 1e-37 times as likely as the best one.) */
void sample_softmax_rows(const float *restrict z, const double *restrict u, int32_t rows, int32_t V, float temperature,
                         int32_t *restrict tokens, float *restrict logprobs) {
  float *w = malloc(sizeof(float) * (size_t)V);
  if (!w) {
    for (int32_t r = 0; r < rows; r++) tokens[r] = -1; /* the caller checks for this */
    return;
  }
  for (int32_t r = 0; r < rows; r++) {
    const float *row = z + (size_t)r * V;
    float max = row[0];
    for (int32_t i = 1; i < V; i++) max = row[i] > max ? row[i] : max;
    for (int32_t i = 0; i < V; i++) w[i] = fast_exp((row[i] - max) / temperature);
    double sum = 0;
    for (int32_t i = 0; i < V; i++) sum += w[i];
    const double target = u[r] * sum;
    double cumulative = 0;
    int32_t pick = V - 1; /* if rounding never gets there */
    for (int32_t i = 0; i < V; i++) {
      cumulative += w[i];
      if (target < cumulative) {
        pick = i;
        break;
      }
    }
    tokens[r] = pick;
    logprobs[r] = (float)log((double)w[pick] / sum);
  }
  free(w);
}

/* Per row of logits z [rows, V]: lse = log Σ e^z, loss = lse − z[target].
 * A target outside [0, V) gives NaN, so a bad label cannot pass silently. */
void cross_entropy_forward(const float *restrict z, const int32_t *restrict targets, int32_t rows, int32_t V,
                           float *restrict lse, float *restrict loss) {
  for (int32_t r = 0; r < rows; r++) {
    const float *zr = z + (int64_t)r * V;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int32_t i = 0; i < V; i++) m = zr[i] > m ? zr[i] : m;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int32_t i = 0; i < V; i++) s += fast_exp(zr[i] - m);
    lse[r] = m + logf(s);
    const int32_t t = targets[r];
    loss[r] = (t >= 0 && t < V) ? lse[r] - zr[t] : NAN;
  }
}

/* Gradient of both outputs of cross_entropy_forward (d lse and d loss per row):
 *   dz = softmax(z)·(d_lse + d_loss)[row] − onehot(target)·d_loss[row]. */
void cross_entropy_backward(const float *restrict z, const int32_t *restrict targets, const float *restrict lse,
                            const float *restrict d_lse, const float *restrict d_loss, int32_t rows, int32_t V,
                            float *restrict dz) {
  for (int32_t r = 0; r < rows; r++) {
    const float *zr = z + (int64_t)r * V;
    float *dr = dz + (int64_t)r * V;
    const float l = lse[r], s = d_lse[r] + d_loss[r];
    for (int32_t i = 0; i < V; i++) dr[i] = fast_exp(zr[i] - l) * s;
    const int32_t t = targets[r];
    if (t >= 0 && t < V) dr[t] -= d_loss[r];
  }
}

/* out[o, i] = Σ_r x[o, r, i]: a sum over a block of adjacent axes. */
void sum_middle_axes(const float *restrict x, int32_t outer, int32_t reduce, int32_t inner, float *restrict out) {
  for (int32_t o = 0; o < outer; o++) {
    float *dst = out + (int64_t)o * inner;
    const float *src = x + (int64_t)o * reduce * inner;
    if (inner == 1) {
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int32_t r = 0; r < reduce; r++) s += src[r];
      dst[0] = s;
      continue;
    }
    memset(dst, 0, sizeof(float) * inner);
    for (int32_t r = 0; r < reduce; r++) {
      const float *row = src + (int64_t)r * inner;
      for (int32_t i = 0; i < inner; i++) dst[i] += row[i];
    }
  }
}

/* Permutes the axes of a 4-byte-element tensor of rank ≤ 6:
 * out has shape shape[perm[0]], …; in[..., idx, ...] moves to out[perm⁻¹ order]. */
void transpose_4byte(const uint32_t *restrict in, uint32_t *restrict out, int32_t rank,
                     const int32_t *restrict shape, const int32_t *restrict perm) {
  if (rank < 1 || rank > 6) return;
  int64_t in_stride[6], out_shape[6], stride_of_out_axis[6], count[6];
  int64_t s = 1;
  for (int32_t a = rank - 1; a >= 0; a--) { in_stride[a] = s; s *= shape[a]; }
  const int64_t total = s;
  for (int32_t a = 0; a < rank; a++) {
    out_shape[a] = shape[perm[a]];
    stride_of_out_axis[a] = in_stride[perm[a]];
    count[a] = 0;
  }
  if (total == 0) return;
  const int64_t last = out_shape[rank - 1], last_stride = stride_of_out_axis[rank - 1];
  int64_t src = 0;
  for (int64_t dst = 0; dst < total; dst += last) {
    for (int64_t i = 0; i < last; i++) out[dst + i] = in[src + i * last_stride];
    /* Advance the multi-index over the outer output axes (odometer). */
    for (int32_t a = rank - 2; a >= 0; a--) {
      src += stride_of_out_axis[a];
      if (++count[a] < out_shape[a]) break;
      src -= stride_of_out_axis[a] * out_shape[a];
      count[a] = 0;
    }
  }
}

/* One torch.optim.AdamW step for one weight (see lib/train/adamw.ts):
 *   p ← p·decay;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − step_size · m / (√v / sqrt_bias2 + eps). */
void adamw_update(const float *restrict p, const float *restrict g, const float *restrict m, const float *restrict v,
                  int32_t n, float beta1, float beta2, float eps, float decay, float step_size, float sqrt_bias2,
                  float *restrict p_out, float *restrict m_out, float *restrict v_out) {
  for (int32_t i = 0; i < n; i++) {
    const float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
    const float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
    p_out[i] = p[i] * decay - step_size * mi / (sqrtf(vi) / sqrt_bias2 + eps);
    m_out[i] = mi;
    v_out[i] = vi;
  }
}

/* Attention weights: p = softmax(scale·s + mask) over the last axis, for
 * scores s [B, H, T, S] and an additive mask [T, S] (mask_batch = 1) or
 * [B, 1, T, S] (mask_batch = B), shared by the heads. */
void masked_softmax_forward(const float *restrict s, const float *restrict mask, int32_t B, int32_t H, int32_t T,
                            int32_t S, int32_t mask_batch, float scale, float *restrict p) {
  for (int32_t b = 0; b < B; b++) {
    const float *mb = mask + (int64_t)(mask_batch == 1 ? 0 : b) * T * S;
    for (int32_t h = 0; h < H; h++) {
      const int64_t block = ((int64_t)b * H + h) * T * S;
      for (int32_t t = 0; t < T; t++) {
        const float *sr = s + block + (int64_t)t * S;
        const float *mr = mb + (int64_t)t * S;
        float *pr = p + block + (int64_t)t * S;
        float m = -INFINITY;
        for (int32_t j = 0; j < S; j++) {
          pr[j] = sr[j] * scale + mr[j];
          m = pr[j] > m ? pr[j] : m;
        }
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int32_t j = 0; j < S; j++) {
          pr[j] = fast_exp(pr[j] - m);
          sum += pr[j];
        }
        const float inv = 1.0f / sum;
        for (int32_t j = 0; j < S; j++) pr[j] *= inv;
      }
    }
  }
}

/* ds = scale · p ⊙ (dp − Σ_j dp·p), row by row (rows = B·H·T). */
void masked_softmax_backward(const float *restrict p, const float *restrict dp, int32_t rows, int32_t S, float scale,
                             float *restrict ds) {
  for (int32_t r = 0; r < rows; r++) {
    const float *pr = p + (int64_t)r * S;
    const float *dpr = dp + (int64_t)r * S;
    float *dsr = ds + (int64_t)r * S;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int32_t j = 0; j < S; j++) dot += dpr[j] * pr[j];
    for (int32_t j = 0; j < S; j++) dsr[j] = scale * pr[j] * (dpr[j] - dot);
  }
}

/* Inference-only causal self-attention of one layer, everything after the
 * qkv projection in one call (no gradient; used by generation and scoring):
 *   qkv      [B·T, 3C]   this step's queries, keys and values (C = H·hs)
 *   past_k/v [B, H, P, hs] the cache (P may be 0)
 *   mask     additive, [T, S] (mask_batch = 1) or [B, 1, T, S], S = P + T
 * writes new_k/v [B, H, S, hs] (cache + this step) and out [B·T, C]
 * (heads merged), with p = softmax(scale·q·kᵀ + mask) and out = p·v. */
void attention_inference(const float *restrict qkv, const float *restrict past_k, const float *restrict past_v,
                         const float *restrict mask, int32_t B, int32_t T, int32_t P, int32_t H, int32_t hs,
                         int32_t mask_batch, float scale, float *restrict new_k, float *restrict new_v,
                         float *restrict out) {
  const int32_t C = H * hs, S = P + T;
  float p[S];
  for (int32_t b = 0; b < B; b++) {
    for (int32_t h = 0; h < H; h++) {
      float *kb = new_k + ((int64_t)b * H + h) * S * hs;
      float *vb = new_v + ((int64_t)b * H + h) * S * hs;
      if (P > 0) {
        memcpy(kb, past_k + ((int64_t)b * H + h) * P * hs, sizeof(float) * P * hs);
        memcpy(vb, past_v + ((int64_t)b * H + h) * P * hs, sizeof(float) * P * hs);
      }
      for (int32_t t = 0; t < T; t++) {
        const float *row = qkv + ((int64_t)b * T + t) * 3 * C;
        memcpy(kb + (int64_t)(P + t) * hs, row + C + h * hs, sizeof(float) * hs);
        memcpy(vb + (int64_t)(P + t) * hs, row + 2 * C + h * hs, sizeof(float) * hs);
      }
      const float *mb = mask + (int64_t)(mask_batch == 1 ? 0 : b) * T * S;
      for (int32_t t = 0; t < T; t++) {
        const float *q = qkv + ((int64_t)b * T + t) * 3 * C + h * hs;
        const float *mr = mb + (int64_t)t * S;
        float m = -INFINITY;
        for (int32_t j = 0; j < S; j++) {
          const float *kj = kb + (int64_t)j * hs;
          float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
          for (int32_t d = 0; d < hs; d++) dot += q[d] * kj[d];
          p[j] = dot * scale + mr[j];
          m = p[j] > m ? p[j] : m;
        }
        float sum = 0.0f;
        for (int32_t j = 0; j < S; j++) {
          p[j] = fast_exp(p[j] - m);
          sum += p[j];
        }
        const float inv = 1.0f / sum;
        float *o = out + ((int64_t)b * T + t) * C + h * hs;
        for (int32_t d = 0; d < hs; d++) o[d] = 0.0f;
        for (int32_t j = 0; j < S; j++) {
          const float w = p[j] * inv;
          if (w == 0.0f) continue; /* masked key */
          const float *vj = vb + (int64_t)j * hs;
          for (int32_t d = 0; d < hs; d++) o[d] += w * vj[d];
        }
      }
    }
  }
}
