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
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
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

/* ---- One pool of worker threads for every parallel kernel, BLAS products included ----
 *
 * Why one pool: OpenBLAS' own threads keep spinning for a long while after
 * each product (~0.1 s by default), and on a 2-core machine a kernel that
 * starts its own thread meanwhile shares a core with that spinning thread:
 * the training attention ran 2× slower right after a product than alone
 * (measured in a C harness, B = 8, T = 128, H = 4, hs = 32). With OpenBLAS
 * set to one thread and each product split across this pool instead, every
 * kernel, the products too, runs on the same threads, which spin for a
 * while (POOL_SPIN_NS) between jobs and then sleep.
 *
 * A job is fn(args, begin, end) over [0, n) in `parts` contiguous chunks,
 * each run by whichever thread claims it first: the caller claims chunks as
 * soon as it has posted the job, a worker when it sees the job. A chunk's
 * bounds depend only on n and parts, never on the thread that runs it, so
 * every result is the same whoever ran what. A worker that is late (asleep,
 * or its core taken by another program) finds its chunk done by the caller
 * instead of holding the job up: the caller waits only for chunks claimed.
 * A second caller arriving while a job runs (another Deno worker) runs its
 * job alone. */
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#define POOL_MAX 16
/* How long a worker waits for the next job before it sleeps. A training step's kernels follow each other
 * within tens of µs, a generated token's within the ~0.1–0.3 ms of JavaScript between them: waking a
 * sleeping worker (a futex call, then the wait for it to run) for each of those took ~7 % of a
 * generation at 0.2 ms (gpt2-micro, batch 8, 64 tokens: 50.5 → 47.2 ms at 2 ms). */
#define POOL_SPIN_NS 2000000

typedef void (*range_fn)(void *args, int32_t begin, int32_t end);

/* The current job's number, its number of chunks and the next chunk to claim, in one word, so that a
 * claim (one compare-and-swap) can only take a chunk of the job it saw: job << 32 | parts << 16 | next. */
#define JOB_OF(state) ((uint32_t)((state) >> 32))
#define PARTS_OF(state) ((int32_t)(((state) >> 16) & 0xffff))
#define NEXT_OF(state) ((int32_t)((state) & 0xffff))

static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  _Atomic uint64_t state; /* a job is posted (under lock) by storing its number here */
  atomic_int done;        /* chunks of the current job finished */
  atomic_flag busy;
  range_fn fn;
  void *args;
  int32_t n, workers, threads;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, ATOMIC_FLAG_INIT, NULL, NULL, 0, 0, 1};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static int64_t monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* A spin-wait that has lasted this long gives its core away (sched_yield) every 256 turns from then on.
 * With more threads than free cores (other programs busy, or RLHF_THREADS above the cores) a thread that
 * only spun kept the core from the very thread it waited for until the scheduler preempted it: gpt2-micro
 * generation on one core with two threads took 3.3 s instead of 0.06 s (0.4 s with 0.2 ms of spinning).
 * Yielding from the first turns cost ~3 % of an idle default run (3 m 16 s against 3 m 10 s back to back):
 * with two free cores the waits between a step's kernels are short, and a worker that yields there lets
 * another thread (V8's) take its core just before the next job. */
#define POOL_YIELD_AFTER_NS 50000

/* One turn of a spin-wait that started at `start` (ns); `now` is refreshed every 256 turns. */
static inline void spin_turn(uint32_t turn, int64_t start, int64_t *now) {
  if ((turn & 255) == 0) {
    *now = monotonic_ns();
    if (*now - start > POOL_YIELD_AFTER_NS) {
      sched_yield();
      return;
    }
  }
  cpu_relax();
}

/* Waits for a job numbered other than `seen`; returns its number. */
static uint32_t wait_for_job(uint32_t seen) {
  const int64_t start = monotonic_ns();
  int64_t now = start;
  for (uint32_t i = 1;; i++) {
    const uint32_t job = JOB_OF(atomic_load_explicit(&pool.state, memory_order_acquire));
    if (job != seen) return job;
    if (now - start > POOL_SPIN_NS) break;
    spin_turn(i, start, &now);
  }
  pthread_mutex_lock(&pool.lock);
  uint32_t job;
  while ((job = JOB_OF(atomic_load_explicit(&pool.state, memory_order_acquire))) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
  pthread_mutex_unlock(&pool.lock);
  return job;
}

/* Claims and runs chunks of job `job` until none is left. A claimed chunk keeps its job open (the caller
 * waits for it), so pool.fn, args and n are that job's while it runs. */
static void run_chunks(uint32_t job) {
  uint64_t state = atomic_load_explicit(&pool.state, memory_order_acquire);
  while (JOB_OF(state) == job && NEXT_OF(state) < PARTS_OF(state)) {
    if (!atomic_compare_exchange_weak_explicit(&pool.state, &state, state + 1, memory_order_acq_rel, memory_order_acquire))
      continue; /* state now holds the word as it is: look again */
    const int32_t part = NEXT_OF(state), parts = PARTS_OF(state);
    const int32_t begin = (int32_t)((int64_t)pool.n * part / parts);
    const int32_t end = (int32_t)((int64_t)pool.n * (part + 1) / parts);
    if (begin < end) pool.fn(pool.args, begin, end);
    atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    state = atomic_load_explicit(&pool.state, memory_order_acquire);
  }
}

static void *pool_worker(void *unused) {
  (void)unused;
  uint32_t seen = 0;
  for (;;) {
    seen = wait_for_job(seen);
    run_chunks(seen);
  }
  return NULL;
}

/* How many threads the kernels use (the caller included); 1 turns the pool off. */
void kernel_threads(int32_t threads) {
  pool.threads = threads < 1 ? 1 : (threads > POOL_MAX ? POOL_MAX : threads);
}

/* Marks this library never to be unloaded, so that the workers' code and the pool's state outlive a
 * dlclose (Deno closes a library when the isolate that opened it ends, e.g. between test files; a later
 * dlopen then gets this same copy, pool and all). False if that cannot be done: then no workers start. */
static int keep_loaded(void) {
  static int kept = -1;
  if (kept < 0) {
    Dl_info info;
    kept = dladdr((void *)keep_loaded, &info) && info.dli_fname &&
           dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != NULL;
  }
  return kept;
}

/* Starts workers up to threads − 1 (the caller is the other one); returns how many run. */
static int32_t start_workers(int32_t threads) {
  if (!keep_loaded()) return 0;
  while (pool.workers < threads - 1) {
    pthread_t id;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const int ok = pthread_create(&id, &attr, pool_worker, NULL) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    pool.workers++;
  }
  return pool.workers;
}

/* fn over [0, n) on up to `threads` threads (≤ the pool's), in `parts` contiguous chunks (at most n, and
 * 0xffff; 0: one per thread). */
static void parallel_for_parts(range_fn fn, void *args, int32_t n, int32_t threads, int32_t parts) {
  if (threads > pool.threads) threads = pool.threads;
  if (threads > n) threads = n;
  if (threads <= 1 || atomic_flag_test_and_set_explicit(&pool.busy, memory_order_acquire)) {
    if (n > 0) fn(args, 0, n);
    return;
  }
  const int32_t workers = start_workers(threads);
  if (parts <= 0) parts = workers + 1 < threads ? workers + 1 : threads;
  if (parts > n) parts = n;
  if (parts > 0xffff) parts = 0xffff;
  pool.fn = fn;
  pool.args = args;
  pool.n = n;
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  const uint32_t job = JOB_OF(atomic_load_explicit(&pool.state, memory_order_relaxed)) + 1;
  pthread_mutex_lock(&pool.lock);
  atomic_store_explicit(&pool.state, (uint64_t)job << 32 | (uint64_t)parts << 16, memory_order_release);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  run_chunks(job);
  const int64_t start = monotonic_ns();
  int64_t now = start;
  for (uint32_t i = 1; atomic_load_explicit(&pool.done, memory_order_acquire) < parts; i++) spin_turn(i, start, &now);
  atomic_flag_clear_explicit(&pool.busy, memory_order_release);
}

/* fn over [0, n) on up to `threads` threads (≤ the pool's), one contiguous chunk per thread. */
static void parallel_for(range_fn fn, void *args, int32_t n, int32_t threads) {
  parallel_for_parts(fn, args, n, threads, 0);
}

static inline int32_t min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t max_i32(int32_t a, int32_t b) { return a > b ? a : b; }

/* Threads worth waking for `work` units when each should get at least `grain`. */
static inline int32_t threads_for(int64_t work, int64_t grain) {
  const int64_t t = work / grain;
  return t < 1 ? 1 : (t > POOL_MAX ? POOL_MAX : (int32_t)t);
}

#define SQRT_2_OVER_PI 0.7978845608028654f
#define GELU_COEF 0.044715f

/* Elementwise kernels split across the pool in chunks of at least this many floats. */
#define ELEMENT_GRAIN 32768

/* Arguments of an elementwise kernel of one or two inputs (GELU and its gradient, Add). */
typedef struct {
  const float *x, *y;
  float *out;
} ElementwiseArgs;

/* HF "gelu_new": y = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
static void gelu_forward_range(void *args, int32_t begin, int32_t end) {
  const ElementwiseArgs *a = args;
  const float *restrict x = a->x;
  float *restrict y = a->out;
  for (int32_t i = begin; i < end; i++) {
    const float v = x[i];
    const float t = fast_tanh(SQRT_2_OVER_PI * (v + GELU_COEF * v * v * v));
    y[i] = 0.5f * v * (1.0f + t);
  }
}

void gelu_new_forward(const float *restrict x, float *restrict y, int32_t n) {
  ElementwiseArgs a = {x, NULL, y};
  parallel_for(gelu_forward_range, &a, n, threads_for(n, ELEMENT_GRAIN));
}

/* dx = dy · [½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)]. */
static void gelu_backward_range(void *args, int32_t begin, int32_t end) {
  const ElementwiseArgs *a = args;
  const float *restrict x = a->x, *restrict dy = a->y;
  float *restrict dx = a->out;
  for (int32_t i = begin; i < end; i++) {
    const float v = x[i];
    const float t = fast_tanh(SQRT_2_OVER_PI * (v + GELU_COEF * v * v * v));
    const float du = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_COEF * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
  }
}

void gelu_new_backward(const float *restrict x, const float *restrict dy, float *restrict dx, int32_t n) {
  ElementwiseArgs a = {x, dy, dx};
  parallel_for(gelu_backward_range, &a, n, threads_for(n, ELEMENT_GRAIN));
}

/* LayerNorm over rows of length C (biased variance, as torch):
 * y = (x − μ)·rstd·w + b, rstd = 1/√(σ² + eps). Saves μ and rstd per row. */
typedef struct {
  const float *x, *w, *b;
  int32_t C;
  float eps;
  float *y, *mean, *rstd;
} LayerNormArgs;

static void layer_norm_rows(void *args, int32_t begin, int32_t end) {
  const LayerNormArgs *a = args;
  const float *restrict x = a->x, *restrict w = a->w, *restrict b = a->b;
  float *restrict y = a->y, *restrict mean = a->mean, *restrict rstd = a->rstd;
  const int32_t C = a->C;
  const float eps = a->eps;
  for (int32_t r = begin; r < end; r++) {
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

void layer_norm_forward(const float *restrict x, const float *restrict w, const float *restrict b,
                        int32_t rows, int32_t C, float eps,
                        float *restrict y, float *restrict mean, float *restrict rstd) {
  LayerNormArgs a = {x, w, b, C, eps, y, mean, rstd};
  parallel_for(layer_norm_rows, &a, rows, threads_for((int64_t)rows * C, ELEMENT_GRAIN));
}

/* Sums over the rows of a batch (LayerNorm's dw and db, a bias gradient) are taken in blocks of this many
 * rows, each block's partial sums on whichever thread, then the blocks' sums added in order: the same
 * bits on any number of threads. */
#define ROW_BLOCK 64

/* With x̂ = (x − μ)·rstd and g = dy·w:
 *   dx = rstd · (g − mean(g) − x̂·mean(g·x̂)),  dw = Σ_rows dy·x̂,  db = Σ_rows dy. */
typedef struct {
  const float *x, *w, *mean, *rstd, *dy;
  int32_t rows, C;
  float *dx, *partial_dw, *partial_db; /* [blocks, C] each */
} LayerNormGradArgs;

static void layer_norm_grad_blocks(void *args, int32_t begin, int32_t end) {
  const LayerNormGradArgs *a = args;
  const float *restrict w = a->w;
  const int32_t C = a->C;
  for (int32_t block = begin; block < end; block++) {
    float *restrict dw = a->partial_dw + (int64_t)block * C, *restrict db = a->partial_db + (int64_t)block * C;
    memset(dw, 0, sizeof(float) * C);
    memset(db, 0, sizeof(float) * C);
    for (int32_t r = block * ROW_BLOCK; r < min_i32(a->rows, (block + 1) * ROW_BLOCK); r++) {
      const float *restrict xr = a->x + (int64_t)r * C;
      const float *restrict dyr = a->dy + (int64_t)r * C;
      float *restrict dxr = a->dx + (int64_t)r * C;
      const float mu = a->mean[r], rs = a->rstd[r];
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
}

/* out[i] = Σ_b partial[b, i] over the blocks in order. */
static void add_block_sums(const float *partial, int32_t blocks, int32_t C, float *restrict out) {
  memcpy(out, partial, sizeof(float) * C);
  for (int32_t b = 1; b < blocks; b++)
    for (int32_t i = 0; i < C; i++) out[i] += partial[(int64_t)b * C + i];
}

/* Returns 0, or −1 if scratch memory could not be allocated. */
int32_t layer_norm_backward(const float *restrict x, const float *restrict w, const float *restrict mean,
                            const float *restrict rstd, const float *restrict dy, int32_t rows, int32_t C,
                            float *restrict dx, float *restrict dw, float *restrict db) {
  const int32_t blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
  float *partial = malloc(sizeof(float) * 2 * (size_t)(blocks > 0 ? blocks : 1) * C);
  if (!partial) return -1;
  LayerNormGradArgs a = {x, w, mean, rstd, dy, rows, C, dx, partial, partial + (size_t)blocks * C};
  parallel_for(layer_norm_grad_blocks, &a, blocks, threads_for((int64_t)rows * C, ELEMENT_GRAIN));
  if (blocks > 0) {
    add_block_sums(a.partial_dw, blocks, C, dw);
    add_block_sums(a.partial_db, blocks, C, db);
  } else {
    memset(dw, 0, sizeof(float) * C);
    memset(db, 0, sizeof(float) * C);
  }
  free(partial);
  return 0;
}

/* Sampling one token per row of logits z [rows, V] from softmax(z / temperature),
 * with the uniform draw u[row] in [0, 1): the first index where the running sum
 * of the weights w_i = e^((z_i − max) / temperature) exceeds u·Σw, and its
 * log-probability log(w / Σw). The same walk as sampleFullSoftmax in
 * lib/generate/sampling.ts, whose JS exp over a 50,257-token vocabulary was
 * most of a generation step; sums are in double. (fast_exp gives exactly 0
 * below e^-87: such a token is < 1e-37 times as likely as the best one.) */
typedef struct {
  const float *z;
  const double *u;
  int32_t V, failed;
  float temperature;
  int32_t *tokens;
  float *logprobs;
} SampleArgs;

static void sample_rows_range(void *args, int32_t begin, int32_t end) {
  SampleArgs *a = args;
  const int32_t V = a->V;
  float *w = malloc(sizeof(float) * (size_t)V);
  if (!w) {
    a->failed = 1;
    return;
  }
  for (int32_t r = begin; r < end; r++) {
    const float *row = a->z + (size_t)r * V;
    float max = row[0];
    for (int32_t i = 1; i < V; i++) max = row[i] > max ? row[i] : max;
    for (int32_t i = 0; i < V; i++) w[i] = fast_exp((row[i] - max) / a->temperature);
    double sum = 0;
    for (int32_t i = 0; i < V; i++) sum += w[i];
    const double target = a->u[r] * sum;
    double cumulative = 0;
    int32_t pick = V - 1; /* if rounding never gets there */
    for (int32_t i = 0; i < V; i++) {
      cumulative += w[i];
      if (target < cumulative) {
        pick = i;
        break;
      }
    }
    a->tokens[r] = pick;
    a->logprobs[r] = (float)log((double)w[pick] / sum);
  }
  free(w);
}

/* Rows are drawn independently, so they are split across the pool (a row's numbers do not depend on it),
 * in chunks of at least SAMPLE_GRAIN logits (four passes over each: a smaller grain than the elementwise
 * kernels'). */
#define SAMPLE_GRAIN 8192
void sample_softmax_rows(const float *restrict z, const double *restrict u, int32_t rows, int32_t V, float temperature,
                         int32_t *restrict tokens, float *restrict logprobs) {
  SampleArgs a = {.z = z, .u = u, .V = V, .temperature = temperature, .tokens = tokens, .logprobs = logprobs};
  parallel_for(sample_rows_range, &a, rows, threads_for((int64_t)rows * V, SAMPLE_GRAIN));
  if (a.failed)
    for (int32_t r = 0; r < rows; r++) tokens[r] = -1; /* the caller checks for this */
}

/* Per row of logits z [rows, V]: lse = log Σ e^z, loss = lse − z[target].
 * A target outside [0, V) gives NaN, so a bad label cannot pass silently. */
typedef struct {
  const float *z, *lse, *d_lse, *d_loss;
  const int32_t *targets;
  int32_t V;
  float *out, *loss;
} CrossEntropyArgs;

static void cross_entropy_rows(void *args, int32_t begin, int32_t end) {
  const CrossEntropyArgs *a = args;
  const float *restrict z = a->z;
  const int32_t *restrict targets = a->targets;
  const int32_t V = a->V;
  float *restrict lse = a->out, *restrict loss = a->loss;
  for (int32_t r = begin; r < end; r++) {
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

void cross_entropy_forward(const float *restrict z, const int32_t *restrict targets, int32_t rows, int32_t V,
                           float *restrict lse, float *restrict loss) {
  CrossEntropyArgs a = {.z = z, .targets = targets, .V = V, .out = lse, .loss = loss};
  parallel_for(cross_entropy_rows, &a, rows, threads_for((int64_t)rows * V, ELEMENT_GRAIN));
}

/* Entropy of softmax(scale·z) per row of z [rows, V], in one pass after the max (PPO's statistic of its
 * rollouts): with u = scale·z − max and s = Σ e^u, H = −Σ p log p = log s − Σ e^u·u / s. */
void row_entropy(const float *restrict z, int32_t rows, int32_t V, float scale, float *restrict out) {
  for (int32_t r = 0; r < rows; r++) {
    const float *zr = z + (int64_t)r * V;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int32_t i = 0; i < V; i++) m = scale * zr[i] > m ? scale * zr[i] : m;
    float s = 0.0f, t = 0.0f;
#pragma omp simd reduction(+ : s, t)
    for (int32_t i = 0; i < V; i++) {
      const float u = scale * zr[i] - m, e = fast_exp(u);
      s += e;
      t += e * u;
    }
    out[r] = logf(s) - t / s;
  }
}

/* Gradient of both outputs of cross_entropy_forward (d lse and d loss per row):
 *   dz = softmax(z)·(d_lse + d_loss)[row] − onehot(target)·d_loss[row]. */
static void cross_entropy_backward_rows(void *args, int32_t begin, int32_t end) {
  const CrossEntropyArgs *a = args;
  const float *restrict z = a->z, *restrict lse = a->lse, *restrict d_lse = a->d_lse, *restrict d_loss = a->d_loss;
  const int32_t *restrict targets = a->targets;
  const int32_t V = a->V;
  float *restrict dz = a->out;
  for (int32_t r = begin; r < end; r++) {
    const float *zr = z + (int64_t)r * V;
    float *dr = dz + (int64_t)r * V;
    const float l = lse[r], s = d_lse[r] + d_loss[r];
    for (int32_t i = 0; i < V; i++) dr[i] = fast_exp(zr[i] - l) * s;
    const int32_t t = targets[r];
    if (t >= 0 && t < V) dr[t] -= d_loss[r];
  }
}

void cross_entropy_backward(const float *restrict z, const int32_t *restrict targets, const float *restrict lse,
                            const float *restrict d_lse, const float *restrict d_loss, int32_t rows, int32_t V,
                            float *restrict dz) {
  CrossEntropyArgs a = {.z = z, .lse = lse, .d_lse = d_lse, .d_loss = d_loss, .targets = targets, .V = V, .out = dz};
  parallel_for(cross_entropy_backward_rows, &a, rows, threads_for((int64_t)rows * V, ELEMENT_GRAIN));
}

/* out = a + b elementwise (same shapes: residual connections and gradient sums). */
static void add_range(void *args, int32_t begin, int32_t end) {
  const ElementwiseArgs *s = args;
  const float *restrict a = s->x, *restrict b = s->y;
  float *restrict out = s->out;
  for (int32_t i = begin; i < end; i++) out[i] = a[i] + b[i];
}

void add_arrays(const float *restrict a, const float *restrict b, int32_t n, float *restrict out) {
  ElementwiseArgs s = {a, b, out};
  parallel_for(add_range, &s, n, threads_for(n, 2 * ELEMENT_GRAIN));
}

/* Σ x² in double (a gradient's share of the global norm). */
double sum_of_squares(const float *restrict x, int32_t n) {
  double total = 0.0;
  for (int32_t i = 0; i < n; i += 4096) {
    const int32_t end = i + 4096 < n ? i + 4096 : n;
    float block = 0.0f;
#pragma omp simd reduction(+ : block)
    for (int32_t j = i; j < end; j++) block += x[j] * x[j];
    total += block; /* float partial sums per block, double across blocks */
  }
  return total;
}

/* out[o, i] = Σ_r x[o, r, i]: a sum over a block of adjacent axes. Row sums (inner = 1) are split across
 * the pool by o; otherwise each o's sum over r goes in blocks of ROW_BLOCK rows (see there). */
typedef struct {
  const float *x;
  int32_t reduce, inner, blocks_per_outer;
  float *out, *partial; /* partial: [outer · blocks, inner] */
} SumArgs;

static void row_sums(void *args, int32_t begin, int32_t end) {
  const SumArgs *a = args;
  for (int32_t o = begin; o < end; o++) {
    const float *restrict src = a->x + (int64_t)o * a->reduce;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int32_t r = 0; r < a->reduce; r++) s += src[r];
    a->out[o] = s;
  }
}

static void block_sums(void *args, int32_t begin, int32_t end) {
  const SumArgs *a = args;
  const int32_t inner = a->inner;
  for (int32_t job = begin; job < end; job++) {
    const int32_t o = job / a->blocks_per_outer, block = job % a->blocks_per_outer;
    float *restrict dst = a->partial + (int64_t)job * inner;
    memset(dst, 0, sizeof(float) * inner);
    for (int32_t r = block * ROW_BLOCK; r < min_i32(a->reduce, (block + 1) * ROW_BLOCK); r++) {
      const float *restrict row = a->x + ((int64_t)o * a->reduce + r) * inner;
      for (int32_t i = 0; i < inner; i++) dst[i] += row[i];
    }
  }
}

/* Returns 0, or −1 if scratch memory could not be allocated. */
int32_t sum_middle_axes(const float *restrict x, int32_t outer, int32_t reduce, int32_t inner, float *restrict out) {
  const int32_t threads = threads_for((int64_t)outer * reduce * inner, ELEMENT_GRAIN);
  SumArgs a = {x, reduce, inner, (reduce + ROW_BLOCK - 1) / ROW_BLOCK, out, NULL};
  if (inner == 1) {
    parallel_for(row_sums, &a, outer, threads);
    return 0;
  }
  if (a.blocks_per_outer == 0) {
    memset(out, 0, sizeof(float) * (size_t)outer * inner);
    return 0;
  }
  a.partial = malloc(sizeof(float) * (size_t)outer * a.blocks_per_outer * inner);
  if (!a.partial) return -1;
  parallel_for(block_sums, &a, outer * a.blocks_per_outer, threads);
  for (int32_t o = 0; o < outer; o++)
    add_block_sums(a.partial + (int64_t)o * a.blocks_per_outer * inner, a.blocks_per_outer, inner, out + (int64_t)o * inner);
  free(a.partial);
  return 0;
}

/* out [cols, rows] = in [rows, cols]ᵀ in 32 × 32 tiles. Element by element along out's rows, each element
 * read came from another cache line of `in`: a language model's embedding matrix (5,676 × 128) took ~2 ms. */
static void transpose_matrix(const uint32_t *restrict in, uint32_t *restrict out, int64_t rows, int64_t cols) {
  for (int64_t r0 = 0; r0 < rows; r0 += 32)
    for (int64_t c0 = 0; c0 < cols; c0 += 32) {
      const int64_t r1 = r0 + 32 < rows ? r0 + 32 : rows, c1 = c0 + 32 < cols ? c0 + 32 : cols;
      for (int64_t c = c0; c < c1; c++)
        for (int64_t r = r0; r < r1; r++) out[c * rows + r] = in[r * cols + c];
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
  if (rank == 2 && perm[0] == 1) { /* a matrix: in tiles, so that every cache line read is used whole */
    transpose_matrix(in, out, shape[0], shape[1]);
    return;
  }
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

/* out [V, W] = 0, then out[idx[i]] += updates[i] for i = 0, 1, …, N − 1 in that order: tfjs' ScatterNd with
 * indices [N, 1] (an embedding's gradient), duplicate rows summed in the order tfjs-wasm sums them. The
 * caller has checked every index is in [0, V). wasm's kernel took ~0.2 ms a call for gpt2-micro's token
 * embeddings (1,024 rows of 128 into 2,048), with the second core idle. */
void scatter_add_rows(const int32_t *restrict idx, const float *restrict updates, int32_t N, int32_t W, int32_t V,
                      float *restrict out) {
  memset(out, 0, sizeof(float) * (size_t)V * W);
  for (int32_t i = 0; i < N; i++) {
    float *restrict row = out + (int64_t)idx[i] * W;
    const float *restrict u = updates + (int64_t)i * W;
    for (int32_t j = 0; j < W; j++) row[j] += u[j];
  }
}

/* One torch.optim.AdamW step (see lib/train/adamw.ts), per element of a weight:
 *   p ← p·decay;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − step_size · m / (√v / sqrt_bias2 + eps). */
static void adamw_elements(const float *restrict p, const float *restrict g, const float *m, const float *v, int64_t n,
                           float beta1, float beta2, float eps, float decay, float step_size, float sqrt_bias2,
                           float *restrict p_out, float *m_out, float *v_out) {
  for (int64_t i = 0; i < n; i++) {
    const float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
    const float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
    p_out[i] = p[i] * decay - step_size * mi / (sqrtf(vi) / sqrt_bias2 + eps);
    m_out[i] = mi;
    v_out[i] = vi;
  }
}

/* Every weight of a model in one pool job: its elements laid end to end, each thread takes a range of them.
 * m_out and v_out may be m and v themselves (the moments updated in place: each element is read before it
 * is written), hence no `restrict` on them above. */
typedef struct {
  const uint64_t *pointers; /* per weight: p, g, m, v, p_out, m_out, v_out */
  const int32_t *sizes;
  const float *scalars; /* per weight: decay, step_size */
  int32_t count;
  float beta1, beta2, eps, sqrt_bias2;
} AdamWArgs;

static void adamw_range(void *args, int32_t begin, int32_t end) {
  const AdamWArgs *a = args;
  int64_t start = 0; /* where weight w's elements begin in the concatenation */
  for (int32_t w = 0; w < a->count && start < end; start += a->sizes[w], w++) {
    const int64_t from = begin > start ? begin - start : 0, to = end - start < a->sizes[w] ? end - start : a->sizes[w];
    if (from >= to) continue;
    float *const *ptr = (float *const *)(a->pointers + 7 * (int64_t)w);
    adamw_elements(ptr[0] + from, ptr[1] + from, ptr[2] + from, ptr[3] + from, to - from, a->beta1, a->beta2, a->eps,
                   a->scalars[2 * w], a->scalars[2 * w + 1], a->sqrt_bias2, ptr[4] + from, ptr[5] + from, ptr[6] + from);
  }
}

/* AdamW for `count` weights (pointers, sizes and scalars as in AdamWArgs) in one call. */
void adamw_update(const uint64_t *pointers, const int32_t *sizes, const float *scalars, int32_t count, float beta1,
                  float beta2, float eps, float sqrt_bias2) {
  int64_t n = 0;
  for (int32_t w = 0; w < count; w++) n += sizes[w];
  AdamWArgs a = {pointers, sizes, scalars, count, beta1, beta2, eps, sqrt_bias2};
  parallel_for(adamw_range, &a, (int32_t)n, threads_for(n, ELEMENT_GRAIN));
}

/* row[0..n) ← softmax(row[0..n)) in place (the row already scaled and masked). */
static void softmax_in_place(float *row, int32_t n) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int32_t j = 0; j < n; j++) m = row[j] > m ? row[j] : m;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int32_t j = 0; j < n; j++) {
    row[j] = fast_exp(row[j] - m);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
  for (int32_t j = 0; j < n; j++) row[j] *= inv;
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
        for (int32_t j = 0; j < S; j++) pr[j] = sr[j] * scale + mr[j];
        softmax_in_place(pr, S);
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
 *   past_k/v [B, H, past_cap, hs] the cache, its first P positions filled (P may be 0)
 *   mask     additive, [T, S] (mask_batch = 1) or [B, 1, T, S], S = P + T
 * writes new_k/v [B, H, new_cap, hs] (cache + this step in its first S positions;
 * new_cap ≥ S) and out [B·T, C] (heads merged), with p = softmax(scale·q·kᵀ + mask)
 * and out = p·v. new_k/v may be past_k/v themselves (generation appends in place,
 * past_cap = new_cap): then only this step's positions are written. */
/* A score below this carries the mask (−1e9): a query whose every visible key is below it sees none. */
#define MASKED_BELOW (-1e8f)

/* Multiply-adds per thread below which the inference attention stays on one (a generated token's
 * attention is ~70 keys × 32 per pair: 8 rows × 4 heads of it are worth two threads). */
#define ATTENTION_INFERENCE_GRAIN 16384

typedef struct {
  const float *qkv, *past_k, *past_v, *mask;
  int32_t past_cap, B, T, P, H, hs, mask_batch, new_cap, keep_cache;
  float scale;
  float *new_k, *new_v, *out;
} AttentionInferenceArgs;

/* (batch row, head) pairs [begin, end): each is computed on its own, so the pool splits them. */
static void attention_inference_pairs(void *args, int32_t begin, int32_t end) {
  const AttentionInferenceArgs *a = args;
  const float *qkv = a->qkv, *past_k = a->past_k, *past_v = a->past_v, *mask = a->mask;
  const int32_t past_cap = a->past_cap, T = a->T, P = a->P, H = a->H, hs = a->hs, mask_batch = a->mask_batch;
  const int32_t new_cap = a->new_cap, keep_cache = a->keep_cache;
  const float scale = a->scale;
  float *new_k = a->new_k, *new_v = a->new_v, *out = a->out;
  const int32_t C = H * hs, S = P + T;
  float p[S];
  for (int32_t pair = begin; pair < end; pair++) {
    const int32_t b = pair / H, h = pair % H;
    /* Key j of this head at kb + j·ks. Without a cache to keep (scoring: P = 0), the keys and values
     * are read where the qkv projection left them, and nothing is copied. */
    const float *kb, *vb;
    int64_t ks = hs;
    if (keep_cache) {
      float *nk = new_k + ((int64_t)b * H + h) * new_cap * hs;
      float *nv = new_v + ((int64_t)b * H + h) * new_cap * hs;
      /* Appending in place (new_k is past_k): the past stays where it is. */
      if (P > 0 && new_k != past_k) {
        memcpy(nk, past_k + ((int64_t)b * H + h) * past_cap * hs, sizeof(float) * P * hs);
        memcpy(nv, past_v + ((int64_t)b * H + h) * past_cap * hs, sizeof(float) * P * hs);
      }
      for (int32_t t = 0; t < T; t++) {
        const float *row = qkv + ((int64_t)b * T + t) * 3 * C;
        memcpy(nk + (int64_t)(P + t) * hs, row + C + h * hs, sizeof(float) * hs);
        memcpy(nv + (int64_t)(P + t) * hs, row + 2 * C + h * hs, sizeof(float) * hs);
      }
      kb = nk;
      vb = nv;
    } else {
      kb = qkv + (int64_t)b * T * 3 * C + C + h * hs;
      vb = kb + C;
      ks = 3 * C;
    }
    const float *mb = mask + (int64_t)(mask_batch == 1 ? 0 : b) * T * S;
    for (int32_t t = 0; t < T; t++) {
      const float *q = qkv + ((int64_t)b * T + t) * 3 * C + h * hs;
      const float *mr = mb + (int64_t)t * S;
      /* Causal: query t sees keys up to P + t; later ones weigh exactly 0 (masked), so they are skipped.
       * A query whose visible keys are all masked (left padding: its output is never read) takes every
       * key as before, so its numbers do not change either. */
      int32_t seen = P + t + 1;
      float m = -INFINITY;
      for (int32_t j = 0; j < S; j++) {
        if (j == seen) {
          if (m > MASKED_BELOW) break;
          seen = S;
        }
        const float *kj = kb + (int64_t)j * ks;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int32_t d = 0; d < hs; d++) dot += q[d] * kj[d];
        p[j] = dot * scale + mr[j];
        m = p[j] > m ? p[j] : m;
      }
      float sum = 0.0f;
      for (int32_t j = 0; j < seen; j++) {
        p[j] = fast_exp(p[j] - m);
        sum += p[j];
      }
      const float inv = 1.0f / sum;
      float *o = out + ((int64_t)b * T + t) * C + h * hs;
      for (int32_t d = 0; d < hs; d++) o[d] = 0.0f;
      for (int32_t j = 0; j < seen; j++) {
        const float w = p[j] * inv;
        if (w == 0.0f) continue; /* masked key */
        const float *vj = vb + (int64_t)j * ks;
        for (int32_t d = 0; d < hs; d++) o[d] += w * vj[d];
      }
    }
  }
}

void attention_inference(const float *restrict qkv, const float *past_k, const float *past_v, int32_t past_cap,
                         const float *restrict mask, int32_t B, int32_t T, int32_t P, int32_t H, int32_t hs,
                         int32_t mask_batch, float scale, float *new_k, float *new_v, int32_t new_cap,
                         int32_t keep_cache, float *restrict out) {
  AttentionInferenceArgs a = {.qkv = qkv, .past_k = past_k, .past_v = past_v, .mask = mask, .past_cap = past_cap,
                              .B = B, .T = T, .P = P, .H = H, .hs = hs, .mask_batch = mask_batch, .new_cap = new_cap,
                              .keep_cache = keep_cache, .scale = scale, .new_k = new_k, .new_v = new_v, .out = out};
  const int64_t work = (int64_t)B * H * T * (P + T) * hs; /* multiply-adds of q·kᵀ (and as many of p·v) */
  parallel_for(attention_inference_pairs, &a, B * H, threads_for(work, ATTENTION_INFERENCE_GRAIN));
}

/* ---- Causal self-attention for training: forward and backward in one call each ----
 *
 * qkv [B·T, 3C] (C = H·hs) is the output of the qkv projection; mask is
 * additive, [T, T] (mask_batch = 1) or [B, 1, T, T]. Per head:
 *   p   = softmax(scale·q·kᵀ + mask)
 *   out = p·v                              [B·T, C], heads merged
 * The backward recomputes p from qkv (one small product per head) instead of
 * keeping [B, H, T, T] weights per layer alive between the passes. This
 * replaces, per layer, two transposes, an unstack, two batched matmuls of
 * B·H small products each and the softmax kernel, and their gradients. Two
 * savings a composite cannot make: a query row stops at its last unmasked key
 * (a causal row t reads t + 1 keys, not T: half the work), and the (batch,
 * head) pairs can be split across threads. A key counts as masked when its
 * mask value is ≤ MASKED_BELOW; its weight is exactly 0 either way
 * (fast_exp(−1e9) = 0), so the result is the composite's. A row with every key
 * masked (a left-padding query) is computed over all keys, as the composite
 * does (a harmless uniform softmax). */
#define MASKED_BELOW (-1e8f)

/* Keys 0 .. extent-1 of this mask row may carry weight; the whole row when none can. */
static int32_t row_extent(const float *mask_row, int32_t S) {
  int32_t last = S;
  while (last > 0 && mask_row[last - 1] <= MASKED_BELOW) last--;
  return last > 0 ? last : S;
}

typedef struct {
  const float *qkv, *mask, *dout;
  int32_t B, T, H, hs, mask_batch;
  float scale;
  float *out, *dqkv;
  int failed; /* set when a thread's scratch could not be allocated */
} AttentionArgs;

/* T rows of hs floats, `stride` floats apart from `src` on → dst [T, hs]
 * (one head's q, k or v out of qkv rows of 3C, or its slice of dout rows of C). */
static void gather_rows(const float *src, int64_t stride, int32_t T, int32_t hs, float *dst) {
  for (int32_t t = 0; t < T; t++) memcpy(dst + (int64_t)t * hs, src + t * stride, sizeof(float) * hs);
}

/* The same, transposed: dst [hs, T], so that a row of q·kᵀ is a sum of rows of dst. */
static void gather_rows_transposed(const float *src, int64_t stride, int32_t T, int32_t hs, float *dst) {
  for (int32_t t = 0; t < T; t++)
    for (int32_t d = 0; d < hs; d++) dst[(int64_t)d * T + t] = src[t * stride + d];
}

/* acc[r, 0..15] = Σ_{kb ≤ k < ke} A[r, k]·B[k, 0..15] for rows r = 0..3, where
 * A[r, k] is at A + r·a_row + k·a_k (so Aᵀ is read without copying it).
 *
 * The accumulators are GCC/Clang vector-extension values, so that they stay in
 * registers for the whole tile (plain arrays indexed in loops did not): one
 * 16-float vector per row where the CPU has 64-byte registers (AVX-512), two
 * 8-float ones elsewhere. A 16-float vector on an AVX2 machine is split
 * through memory: the training attention ran 4.5× slower, and the 8-float
 * version is 1.5× slower than the 16-float one on AVX-512 (both measured with
 * a C harness on an AMD EPYC, B = 8, T = 128, H = 4, hs = 32). */
#if defined(__AVX512F__)
typedef float f32x16 __attribute__((vector_size(64)));

static inline f32x16 load_f32x16(const float *p) {
  f32x16 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void tile_4x16(const float *A, int64_t a_row, int64_t a_k, const float *B, int32_t ldb, int32_t kb, int32_t ke,
                      float *C, int32_t ldc) {
  f32x16 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
  for (int32_t k = kb; k < ke; k++) {
    const f32x16 b = load_f32x16(B + (int64_t)k * ldb);
    const float *ak = A + k * a_k;
    c0 += ak[0] * b;
    c1 += ak[a_row] * b;
    c2 += ak[2 * a_row] * b;
    c3 += ak[3 * a_row] * b;
  }
  memcpy(C, &c0, sizeof c0);
  memcpy(C + ldc, &c1, sizeof c1);
  memcpy(C + 2 * (int64_t)ldc, &c2, sizeof c2);
  memcpy(C + 3 * (int64_t)ldc, &c3, sizeof c3);
}

/* C[r, 0..31] = Σ_{kb ≤ k < ke} A[r, k]·B[k, 0..31] for rows r = 0..7: 16 accumulators, so that each
 * k loads two vectors of B and eight entries of A for sixteen multiply-adds (the 4 × 16 tile: one and four
 * for four). Each entry is the same sum in the same order as in tile_4x16. */
#define TILE_8X32 1
static void tile_8x32(const float *A, int64_t a_row, int64_t a_k, const float *B, int32_t ldb, int32_t kb, int32_t ke,
                      float *C, int32_t ldc) {
  f32x16 c0a = {0}, c0b = {0}, c1a = {0}, c1b = {0}, c2a = {0}, c2b = {0}, c3a = {0}, c3b = {0};
  f32x16 c4a = {0}, c4b = {0}, c5a = {0}, c5b = {0}, c6a = {0}, c6b = {0}, c7a = {0}, c7b = {0};
  for (int32_t k = kb; k < ke; k++) {
    const float *bk = B + (int64_t)k * ldb;
    const f32x16 b0 = load_f32x16(bk), b1 = load_f32x16(bk + 16);
    const float *ak = A + k * a_k;
#define TILE_ROW(r)                  \
  {                                  \
    const float a = ak[r * a_row];   \
    c##r##a += a * b0;               \
    c##r##b += a * b1;               \
  }
    TILE_ROW(0) TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6) TILE_ROW(7)
#undef TILE_ROW
  }
#define STORE_ROW(r)                                     \
  memcpy(C + (int64_t)r * ldc, &c##r##a, sizeof c##r##a); \
  memcpy(C + (int64_t)r * ldc + 16, &c##r##b, sizeof c##r##b);
  STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5) STORE_ROW(6) STORE_ROW(7)
#undef STORE_ROW
}
#else
typedef float f32x8 __attribute__((vector_size(32)));

static inline f32x8 load_f32x8(const float *p) {
  f32x8 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void tile_4x16(const float *A, int64_t a_row, int64_t a_k, const float *B, int32_t ldb, int32_t kb, int32_t ke,
                      float *C, int32_t ldc) {
  f32x8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
  for (int32_t k = kb; k < ke; k++) {
    const float *bk = B + (int64_t)k * ldb;
    const f32x8 b = load_f32x8(bk), e = load_f32x8(bk + 8);
    const float *ak = A + k * a_k;
    const float a0 = ak[0], a1 = ak[a_row], a2 = ak[2 * a_row], a3 = ak[3 * a_row];
    c0 += a0 * b, d0 += a0 * e;
    c1 += a1 * b, d1 += a1 * e;
    c2 += a2 * b, d2 += a2 * e;
    c3 += a3 * b, d3 += a3 * e;
  }
  float *C1 = C + ldc, *C2 = C1 + ldc, *C3 = C2 + ldc;
  memcpy(C, &c0, sizeof c0), memcpy(C + 8, &d0, sizeof d0);
  memcpy(C1, &c1, sizeof c1), memcpy(C1 + 8, &d1, sizeof d1);
  memcpy(C2, &c2, sizeof c2), memcpy(C2 + 8, &d2, sizeof d2);
  memcpy(C3, &c3, sizeof c3), memcpy(C3 + 8, &d3, sizeof d3);
}
#endif

/* Columns j0 ≤ j < nb of rows i0 .. i0 + rows − 1 (rows ≤ 4), in tiles of 16 columns. */
static void tile_columns(int32_t rows, int32_t i0, int32_t j_begin, int32_t nb, const float *A, int64_t a_row, int64_t a_k,
                       const float *B, int32_t ldb, int32_t kb, int32_t ke, float *C, int32_t ldc) {
  for (int32_t j0 = j_begin; j0 < nb; j0 += 16) {
    const int32_t cols = min_i32(16, nb - j0);
    if (rows == 4 && cols == 16) { /* straight into C: through acc, GCC copied with `rep movsq`, a fifth of the products' time */
      tile_4x16(A + i0 * a_row, a_row, a_k, B + j0, ldb, kb, ke, C + (int64_t)i0 * ldc + j0, ldc);
      continue;
    }
    float acc[4][16] = {{0}};
    for (int32_t r = 0; r < rows; r++)
      for (int32_t k = kb; k < ke; k++) {
        const float x = A[(i0 + r) * a_row + k * a_k];
        for (int32_t jj = 0; jj < cols; jj++) acc[r][jj] += x * B[(int64_t)k * ldb + j0 + jj];
      }
    for (int32_t r = 0; r < rows; r++) memcpy(C + (int64_t)(i0 + r) * ldc + j0, acc[r], sizeof(float) * cols);
  }
}

/* C[i, j] = Σ_k A[i, k]·B[k, j] (row-major, leading dimensions ldb, ldc; A[i, k]
 * at A + i·a_row + k·a_k, so a_row = 1, a_k = lda reads the transpose of a stored
 * matrix) in tiles held in registers: 8 rows × 32 columns where the CPU has
 * AVX-512 and a group of 8 rows has 32 columns left, else 4 rows × 16 columns. Optional per-row limits
 * (NULL = whole range) let a causal product skip what is known to be zero:
 * columns j < n_end[i] are written (and others up to the next multiple of 16,
 * which the caller ignores), and the sum runs over
 * k_begin[i] ≤ k < k_end[i] (the caller guarantees A[i, k] = 0 outside). A
 * tile uses the widest limits of its rows, so it may compute a few extra
 * entries, which are then exact sums of zeros or ignored. */
static void tile_gemm(int32_t M, int32_t N, int32_t K, const float *A, int64_t a_row, int64_t a_k, const float *B, int32_t ldb,
                      float *C, int32_t ldc, const int32_t *n_end, const int32_t *k_begin, const int32_t *k_end) {
#ifdef TILE_8X32
  const int32_t group = 8;
#else
  const int32_t group = 4;
#endif
  for (int32_t g0 = 0; g0 < M; g0 += group) {
    const int32_t group_rows = min_i32(group, M - g0);
    int32_t nb = n_end ? 0 : N, kb = k_begin ? K : 0, ke = k_end ? 0 : K;
    for (int32_t r = 0; r < group_rows; r++) {
      if (n_end) nb = max_i32(nb, n_end[g0 + r]);
      if (k_begin) kb = min_i32(kb, k_begin[g0 + r]);
      if (k_end) ke = max_i32(ke, k_end[g0 + r]);
    }
    if (n_end) nb = min_i32(N, (nb + 15) / 16 * 16); /* whole tiles: a partial one takes the slow loop */
    int32_t done = 0; /* columns already written for all the group's rows */
#ifdef TILE_8X32
    if (group_rows == 8)
      for (; done + 32 <= nb; done += 32) tile_8x32(A + g0 * a_row, a_row, a_k, B + done, ldb, kb, ke, C + (int64_t)g0 * ldc + done, ldc);
#endif
    for (int32_t i0 = g0; i0 < g0 + group_rows; i0 += 4)
      tile_columns(min_i32(4, g0 + group_rows - i0), i0, done, nb, A, a_row, a_k, B, ldb, kb, ke, C, ldc);
  }
}

/* Per query row of one mask: how many keys it may see (ext), and per key the
 * first query row that may see it (first). */
static void mask_extents(const float *mask, int32_t T, int32_t *ext, int32_t *first) {
  for (int32_t t = 0; t < T; t++) ext[t] = row_extent(mask + (int64_t)t * T, T);
  for (int32_t j = 0; j < T; j++) {
    first[j] = T;
    for (int32_t t = 0; t < T; t++)
      if (ext[t] > j) {
        first[j] = t;
        break;
      }
  }
}

/* A row's loops run over S entries rounded up to whole vectors of 16 floats
 * (at most T), the entries past S taking no part (weight 0, selected, so that
 * whatever the scratch held there cannot leak in): a vectorised loop leaves up
 * to 15 entries to a scalar tail, a large share of a causal row of T/2 keys on
 * average (measured per layer at B = 8, T = 128, H = 4: the forward's softmax
 * part 0.42 → 0.33 ms, the whole forward 1.08 → 0.89 ms, the backward 2.05 →
 * 1.89 ms). */
static inline int32_t whole_vectors(int32_t S, int32_t T) { return min_i32((S + 15) / 16 * 16, T); }

/* p [T, T] = softmax(scale·q·kᵀ + mask) of one head (q [T, hs], kt = kᵀ [hs, T],
 * mask [T, T]); row t is computed over its keys j < ext[t] and is 0 beyond. */
static void head_probabilities(const float *q, const float *kt, const float *mask, const int32_t *ext, int32_t T,
                               int32_t hs, float scale, float *p) {
  tile_gemm(T, T, hs, q, hs, 1, kt, T, p, T, ext, NULL, NULL);
  for (int32_t t = 0; t < T; t++) {
    const int32_t S = ext[t], W = whole_vectors(S, T);
    const float *mr = mask + (int64_t)t * T;
    float *pr = p + (int64_t)t * T;
    /* −∞ past S: fast_exp gives exactly 0 there and the max is unchanged */
    for (int32_t j = 0; j < W; j++) pr[j] = j < S ? pr[j] * scale + mr[j] : -INFINITY;
    softmax_in_place(pr, W);
    for (int32_t j = W; j < T; j++) pr[j] = 0.0f;
  }
}

/* One thread's scratch: `blocks` [T, hs] blocks, `squares` [T, T] blocks, then
 * the two int32 rows ext and first (see mask_extents). NULL if out of memory. */
static float *attention_scratch(int32_t T, int32_t hs, int32_t blocks, int32_t squares, int32_t **ext, int32_t **first) {
  const size_t floats = (size_t)blocks * T * hs + (size_t)squares * T * T;
  float *scratch = malloc(sizeof(float) * floats + sizeof(int32_t) * 2 * T);
  if (scratch) {
    *ext = (int32_t *)(scratch + floats);
    *first = *ext + T;
  }
  return scratch;
}

/* Where head h of batch b starts in qkv ([B·T, 3C]; which = 0 q, 1 k, 2 v). */
static const float *head_in_qkv(const AttentionArgs *a, int32_t b, int32_t h, int32_t which) {
  const int32_t C = a->H * a->hs;
  return a->qkv + (int64_t)b * a->T * 3 * C + which * C + h * a->hs;
}

/* Batch row b's [T, T] mask, with ext and first filled for it (recomputed only
 * when b's mask is not the one they were filled for: a [T, T] mask is shared). */
static const float *batch_mask(const AttentionArgs *a, int32_t b, int32_t *ext, int32_t *first, int32_t *filled_for) {
  const int32_t row = a->mask_batch == 1 ? 0 : b;
  const float *mask = a->mask + (int64_t)row * a->T * a->T;
  if (row != *filled_for) {
    mask_extents(mask, a->T, ext, first);
    *filled_for = row;
  }
  return mask;
}

static void attention_forward_pairs(void *args, int32_t begin, int32_t end) {
  AttentionArgs *a = args;
  const int32_t T = a->T, H = a->H, hs = a->hs, C = H * hs;
  const size_t block = (size_t)T * hs;
  int32_t *ext, *first;
  float *q = attention_scratch(T, hs, 3, 1, &ext, &first);
  if (!q) {
    a->failed = 1;
    return;
  }
  float *kt = q + block, *v = kt + block, *p = v + block;
  int32_t masks_done = -1;
  for (int32_t pair = begin; pair < end; pair++) {
    const int32_t b = pair / H, h = pair % H;
    const float *mb = batch_mask(a, b, ext, first, &masks_done);
    gather_rows(head_in_qkv(a, b, h, 0), 3 * C, T, hs, q);
    gather_rows_transposed(head_in_qkv(a, b, h, 1), 3 * C, T, hs, kt);
    gather_rows(head_in_qkv(a, b, h, 2), 3 * C, T, hs, v);
    head_probabilities(q, kt, mb, ext, T, hs, a->scale, p);
    /* out = p·v, written straight into the heads-merged rows */
    tile_gemm(T, hs, T, p, T, 1, v, hs, a->out + (int64_t)b * T * C + h * hs, C, NULL, NULL, ext);
  }
  free(q);
}

/* Returns 0, or −1 if scratch memory could not be allocated. */
int32_t attention_train_forward(const float *qkv, const float *mask, int32_t B, int32_t T, int32_t H, int32_t hs,
                                int32_t mask_batch, float scale, int32_t threads, float *out) {
  AttentionArgs a = {.qkv = qkv, .mask = mask, .B = B, .T = T, .H = H, .hs = hs, .mask_batch = mask_batch,
                     .scale = scale, .out = out};
  parallel_for(attention_forward_pairs, &a, B * H, threads);
  return a.failed ? -1 : 0;
}

/* Per head, with p recomputed, dp = dout·vᵀ and ds = scale·p ⊙ (dp − Σ_j p·dp):
 *   dq = ds·k,  dk = dsᵀ·q,  dv = pᵀ·dout   (written into dqkv [B·T, 3C]). */
static void attention_backward_pairs(void *args, int32_t begin, int32_t end) {
  AttentionArgs *a = args;
  const int32_t T = a->T, H = a->H, hs = a->hs, C = H * hs;
  const size_t block = (size_t)T * hs;
  int32_t *ext, *first;
  float *q = attention_scratch(T, hs, 5, 2, &ext, &first);
  if (!q) {
    a->failed = 1;
    return;
  }
  float *k = q + block, *kt = k + block, *vt = kt + block, *dout = vt + block, *p = dout + block, *ds = p + (size_t)T * T;
  int32_t masks_done = -1;
  for (int32_t pair = begin; pair < end; pair++) {
    const int32_t b = pair / H, h = pair % H;
    const float *mb = batch_mask(a, b, ext, first, &masks_done);
    gather_rows(head_in_qkv(a, b, h, 0), 3 * C, T, hs, q);
    gather_rows(head_in_qkv(a, b, h, 1), 3 * C, T, hs, k);
    gather_rows_transposed(head_in_qkv(a, b, h, 1), 3 * C, T, hs, kt);
    gather_rows_transposed(head_in_qkv(a, b, h, 2), 3 * C, T, hs, vt);
    gather_rows(a->dout + (int64_t)b * T * C + h * hs, C, T, hs, dout);
    head_probabilities(q, kt, mb, ext, T, hs, a->scale, p);
    tile_gemm(T, T, hs, dout, hs, 1, vt, T, ds, T, ext, NULL, NULL); /* dp = dout·vᵀ (into ds) */
    for (int32_t t = 0; t < T; t++) {
      const int32_t S = ext[t], W = whole_vectors(S, T);
      const float *pr = p + (int64_t)t * T;
      float *dr = ds + (int64_t)t * T;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (int32_t j = 0; j < W; j++) dot += j < S ? pr[j] * dr[j] : 0.0f;
      for (int32_t j = 0; j < W; j++) dr[j] = j < S ? a->scale * pr[j] * (dr[j] - dot) : 0.0f;
      for (int32_t j = W; j < T; j++) dr[j] = 0.0f;
    }
    /* straight into this head's columns of dqkv: q at 0, k at C, v at 2C */
    float *rows = a->dqkv + (int64_t)b * T * 3 * C + h * hs;
    tile_gemm(T, hs, T, ds, T, 1, k, hs, rows, 3 * C, NULL, NULL, ext); /* dq = ds·k */
    /* dsᵀ·q and pᵀ·dout read the transposes in place; column j of ds and p is zero above row first[j] */
    tile_gemm(T, hs, T, ds, 1, T, q, hs, rows + C, 3 * C, NULL, first, NULL);     /* dk */
    tile_gemm(T, hs, T, p, 1, T, dout, hs, rows + 2 * C, 3 * C, NULL, first, NULL); /* dv */
  }
  free(q);
}

/* Returns 0, or −1 if scratch memory could not be allocated. */
int32_t attention_train_backward(const float *qkv, const float *mask, const float *dout, int32_t B, int32_t T, int32_t H,
                                 int32_t hs, int32_t mask_batch, float scale, int32_t threads, float *dqkv) {
  AttentionArgs a = {.qkv = qkv, .mask = mask, .dout = dout, .B = B, .T = T, .H = H, .hs = hs,
                     .mask_batch = mask_batch, .scale = scale, .dqkv = dqkv};
  parallel_for(attention_backward_pairs, &a, B * H, threads);
  return a.failed ? -1 : 0;
}

/* ---- Matrix products on the pool: OpenBLAS on one thread per chunk ----
 *
 * bind_blas opens the BLAS library the backend already loaded (the same file
 * name, so the same copy) and sets OpenBLAS to one thread; parallel_sgemm
 * then splits C = op(A)·op(B) + beta·C along its longer side, in blocks of 16
 * rows or columns, across the pool. Every entry of C is the same sum in the
 * same order as one single-threaded OpenBLAS call over the whole product (bit
 * for bit with its SkylakeX kernels; tests/native_kernels_test.ts compares
 * them). OpenBLAS' own threads split a long inner dimension their own way, so
 * against them the last bits of such products differ (docs/RESULTS.md). Without OpenBLAS'
 * openblas_set_num_threads (Accelerate) bind_blas refuses and the backend
 * keeps calling the library itself. */
typedef void (*cblas_sgemm_fn)(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, float, const float *, int32_t,
                               const float *, int32_t, float, float *, int32_t);
static cblas_sgemm_fn blas_sgemm;

#define CBLAS_ROW_MAJOR 101
#define CBLAS_NO_TRANS 111
#define CBLAS_TRANS 112

/* Returns 0 when products can go through parallel_sgemm, −1 otherwise. */
int32_t bind_blas(const char *path) {
  void *lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (!lib) return -1;
  void (*set_threads)(int) = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
  cblas_sgemm_fn sgemm = (cblas_sgemm_fn)dlsym(lib, "cblas_sgemm");
  if (!set_threads || !sgemm) return -1;
  set_threads(1);
  blas_sgemm = sgemm;
  return 0;
}

typedef struct {
  int32_t trans_a, trans_b, M, N, K, by_rows;
  const float *a, *b;
  float beta;
  float *c;
  const float *bias; /* NULL, or [N] copied into every row of C first (then beta = 1) */
} SgemmArgs;

/* Rows m0..m1, columns n0..n1 of C ← the bias. */
static void fill_bias(const SgemmArgs *s, int32_t m0, int32_t m1, int32_t n0, int32_t n1) {
  for (int32_t m = m0; m < m1; m++) memcpy(s->c + (int64_t)m * s->N + n0, s->bias + n0, sizeof(float) * (n1 - n0));
}

#define SGEMM_BLOCK 16

static void sgemm_blocks(void *args, int32_t begin, int32_t end) {
  const SgemmArgs *s = args;
  const int32_t lda = s->trans_a ? s->M : s->K, ldb = s->trans_b ? s->K : s->N;
  const int32_t ta = s->trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS, tb = s->trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS;
  if (s->by_rows) {
    const int32_t m0 = begin * SGEMM_BLOCK, m1 = min_i32(end * SGEMM_BLOCK, s->M);
    const float *a = s->trans_a ? s->a + m0 : s->a + (int64_t)m0 * lda;
    if (s->bias) fill_bias(s, m0, m1, 0, s->N);
    blas_sgemm(CBLAS_ROW_MAJOR, ta, tb, m1 - m0, s->N, s->K, 1.0f, a, lda, s->b, ldb, s->beta, s->c + (int64_t)m0 * s->N,
               s->N);
  } else {
    const int32_t n0 = begin * SGEMM_BLOCK, n1 = min_i32(end * SGEMM_BLOCK, s->N);
    const float *b = s->trans_b ? s->b + (int64_t)n0 * ldb : s->b + n0;
    if (s->bias) fill_bias(s, 0, s->M, n0, n1);
    blas_sgemm(CBLAS_ROW_MAJOR, ta, tb, s->M, n1 - n0, s->K, 1.0f, s->a, lda, b, ldb, s->beta, s->c + n0, s->N);
  }
}

/* Multiply-adds each chunk of a split product gets at least. OpenBLAS takes
 * another code path for products below about 100³ (its "small matrix"
 * kernels, whose sums round differently), so a chunk must stay above it for
 * the split to give the whole call's bits; waking a thread for less also
 * costs more than it saves (128×128×32: 26 µs on 2 threads, 12 µs on 1). */
#define SGEMM_CHUNK_MACS (1 << 20)

/* ---- Products with few rows (a generated token's: one row per sequence) ----
 * OpenBLAS copies ("packs") the whole of B into its own layout on every call. For C = A·B with a few rows
 * of A that copy costs more than the product: the LM head of one generated token (8 × 128 by 128 × 5,676)
 * took 267 µs a call, most of it packing a 2.9 MB matrix it then reads once. These products go to the
 * register tiles of tile_gemm instead, which read B in place, split by columns across the pool.
 *
 * Each entry is then Σ_k A[i, k]·B[k, j] as one multiply-add after another from k = 0, which is the sum
 * OpenBLAS' SkylakeX kernels form whenever they do not split the inner dimension (K ≤ 384 there; checked
 * in a C harness for every row count 1–128 at the model's shapes, and by tests/native_kernels_test.ts at a
 * set of them): on those machines the numbers do not change. Its Haswell kernels pair up the terms for some
 * columns, so AVX2 builds round differently from the OpenBLAS call they replace (within a float's last
 * bits). From 64 rows on OpenBLAS on the pool is the faster again (64 × 5,676 × 128: 390 µs on the tiles). */
#define FEW_ROWS 64
#define FEW_ROWS_MAX_K 384
#define FEW_ROWS_COLUMNS 256 /* columns per tile_gemm call: K × 256 floats of B stay in L2 across the row groups */
#define FEW_ROWS_CHUNK_MACS (1 << 17) /* the pool's threads spin between a token's kernels: waking one is cheap */

/* Columns [32·begin, 32·end) of C: the pool splits C in units of 32 columns (one 8 × 32 tile wide). */
static void few_rows_columns(void *args, int32_t begin, int32_t end) {
  const SgemmArgs *s = args;
  float sums[FEW_ROWS * FEW_ROWS_COLUMNS];
  const int32_t j_end = min_i32(end * 32, s->N);
  const int32_t accumulate = s->bias != NULL || s->beta != 0.0f; /* with nothing to add to, the sums go straight into C */
  for (int32_t j0 = begin * 32; j0 < j_end; j0 += FEW_ROWS_COLUMNS) {
    const int32_t cols = min_i32(FEW_ROWS_COLUMNS, j_end - j0);
    float *out = accumulate ? sums : s->c + j0;
    const int32_t ldo = accumulate ? FEW_ROWS_COLUMNS : s->N;
    tile_gemm(s->M, cols, s->K, s->a, s->K, 1, s->b + j0, s->N, out, ldo, NULL, NULL, NULL);
    if (!accumulate) continue;
    for (int32_t i = 0; i < s->M; i++) {
      float *c = s->c + (int64_t)i * s->N + j0;
      const float *add = s->bias ? s->bias + j0 : c; /* bias, or C itself (beta = 1) */
      for (int32_t j = 0; j < cols; j++) c[j] = add[j] + sums[i * FEW_ROWS_COLUMNS + j];
    }
  }
}

/* True when the product was done here: A and B not transposed, at most FEW_ROWS rows, K ≤ FEW_ROWS_MAX_K,
 * beta 0 or 1 (C = A·B, C + A·B, or bias + A·B). */
static int few_rows_product(SgemmArgs *s, int32_t threads) {
  if (s->trans_a || s->trans_b || s->M > FEW_ROWS || s->K > FEW_ROWS_MAX_K || (s->beta != 0.0f && s->beta != 1.0f)) return 0;
  parallel_for(few_rows_columns, s, (s->N + 31) / 32, min_i32(threads, threads_for((int64_t)s->M * s->N * s->K, FEW_ROWS_CHUNK_MACS)));
  return 1;
}

static void split_sgemm(SgemmArgs *s, int32_t threads) {
  if (few_rows_product(s, threads)) return;
  const int32_t row_blocks = (s->M + SGEMM_BLOCK - 1) / SGEMM_BLOCK, col_blocks = (s->N + SGEMM_BLOCK - 1) / SGEMM_BLOCK;
  const int32_t worth = threads_for((int64_t)s->M * s->N * s->K, SGEMM_CHUNK_MACS);
  if (threads > worth) threads = worth;
  /* along the longer side of C: each chunk then reads all of the shorter side's operand and a share of the other */
  s->by_rows = row_blocks >= col_blocks;
  parallel_for(sgemm_blocks, s, s->by_rows ? row_blocks : col_blocks, threads);
}

/* C [M, N] = op(A)·op(B) + beta·C, row-major; A stored [K, M] when trans_a, B [N, K] when trans_b. */
void parallel_sgemm(int32_t trans_a, int32_t trans_b, int32_t M, int32_t N, int32_t K, const float *a, const float *b,
                    float beta, float *c, int32_t threads) {
  SgemmArgs s = {.trans_a = trans_a, .trans_b = trans_b, .M = M, .N = N, .K = K, .a = a, .b = b, .beta = beta, .c = c};
  split_sgemm(&s, threads);
}

/* y [M, N] = x [M, K]·w [K, N] + bias [N]: each chunk copies the bias into its part of y, and BLAS adds the product. */
void parallel_linear(int32_t M, int32_t N, int32_t K, const float *x, const float *w, const float *bias, float *y,
                     int32_t threads) {
  SgemmArgs s = {.M = M, .N = N, .K = K, .a = x, .b = w, .beta = 1.0f, .c = y, .bias = bias};
  split_sgemm(&s, threads);
}

/* ---- The gradients of a linear layer in one pool job ----
 *
 * For y = x·W + b with x [rows, K] and W [K, M] (or stored [M, K] when w_transposed: y = x·Wᵀ, the LM head
 * tied to the token embeddings, which has no bias):
 *   dx = dy·Wᵀ,  dW = xᵀ·dy (dyᵀ·x when transposed),  db = Σ_rows dy.
 * On two threads the two products run side by side, each one OpenBLAS call on one thread, instead of one
 * after the other split in halves: each half of a split product packs the whole of the operand it shares
 * with the other half, and the long inner dimension of dW (the rows) made that the larger one. Measured
 * in isolation (2-vCPU Xeon, AVX-512; gpt2-micro's qkv projection, rows 1,024, K 128, M 384): dx 435 µs
 * and dW 545 µs split, 781 µs and 864 µs each on one thread, so 864 µs side by side against 980 µs.
 * The entries are the sums parallel_sgemm forms (one OpenBLAS call's), db the blocks of sum_middle_axes. */
typedef struct {
  int32_t rows, K, M, w_transposed;
  const float *x, *w, *dy;
  float *dx, *dw, *db; /* db: NULL when there is no bias */
  int failed;          /* set when db's partial sums could not be allocated */
} LinearGradArgs;

/* Task 0: dW; task 1: dx; task 2: db. Each is the call tfjs' gradient makes (parallel_sgemm, sum_middle_axes:
 * the same sums), on `threads` threads. */
static void linear_grad_task(LinearGradArgs *a, int32_t task, int32_t threads) {
  if (task == 0 && a->w_transposed) parallel_sgemm(1, 0, a->M, a->K, a->rows, a->dy, a->x, 0.0f, a->dw, threads); /* dyᵀ·x */
  else if (task == 0) parallel_sgemm(1, 0, a->K, a->M, a->rows, a->x, a->dy, 0.0f, a->dw, threads);              /* xᵀ·dy */
  else if (task == 1) parallel_sgemm(0, !a->w_transposed, a->rows, a->K, a->M, a->dy, a->w, 0.0f, a->dx, threads); /* dy·W(ᵀ) */
  else if (task == 2 && a->db && sum_middle_axes(a->dy, 1, a->rows, a->M, a->db) != 0) a->failed = 1;
}

/* Tasks begin..end of a pool job, each on the thread that claimed it (one OpenBLAS call per product). */
static void linear_grad_tasks(void *args, int32_t begin, int32_t end) {
  for (int32_t task = begin; task < end; task++) linear_grad_task(args, task, 1);
}

/* dx, dW and (when db is not NULL) db as above; `threads` as for parallel_sgemm. On two threads the three
 * are one job of three chunks, each taken by the first thread free (dW, then dx, then db: the thread that
 * finishes its product first adds the rows). On other than two threads the products are split as
 * parallel_sgemm splits them, one after the other (the same entries). Returns 0, or −1 if scratch memory
 * could not be allocated. */
int32_t linear_backward(int32_t rows, int32_t K, int32_t M, int32_t w_transposed, const float *x, const float *w,
                        const float *dy, float *dx, float *dw, float *db, int32_t threads) {
  LinearGradArgs a = {rows, K, M, w_transposed, x, w, dy, dx, dw, db, 0};
  if (min_i32(threads, pool.threads) == 2) {
    parallel_for_parts(linear_grad_tasks, &a, 3, 2, 3);
  } else {
    for (int32_t task = 0; task < 3; task++) linear_grad_task(&a, task, threads);
  }
  return a.failed ? -1 : 0;
}

/* ---- One GPT-2 decoder block for inference (generation and scoring: no dropout, no gradient) ----
 *
 * The kernels the block's ops run one by one, called here in the same order on the same numbers, so the
 * result is the composite's bit for bit (tests/native_kernels_test.ts compares them):
 *   h = LN1(x);  qkv = h·W_attn + b;  a = attention (the cache as in attention_inference);
 *   x1 = x + (a·W_proj + b);  h2 = LN2(x1);  y = x1 + (gelu(h2·W_fc + b)·W_fc2 + b).
 * One call instead of ten tfjs kernels (and their reshapes): a generated token of a small model spends most
 * of its time in the per-kernel cost of tfjs, not in the arithmetic. F is the MLP width (4C in GPT-2).
 * Returns 0, or −1 if scratch memory could not be allocated. */
int32_t block_inference(const uint64_t *pointers, const int32_t *sizes, float scale, float eps) {
  /* pointers: x, ln1_w, ln1_b, attn_w, attn_b, proj_w, proj_b, ln2_w, ln2_b, fc_w, fc_b, fc2_w, fc2_b,
   *           past_k, past_v, mask, new_k, new_v, y (as numbers: Deno passes this many arguments unsafely)
   * sizes:    past_cap, B, T, P, H, hs, F, mask_batch, new_cap, keep_cache, threads */
#define PTR(i) ((float *)(uintptr_t)pointers[i])
  const float *x = PTR(0), *ln1_w = PTR(1), *ln1_b = PTR(2), *attn_w = PTR(3), *attn_b = PTR(4), *proj_w = PTR(5),
              *proj_b = PTR(6), *ln2_w = PTR(7), *ln2_b = PTR(8), *fc_w = PTR(9), *fc_b = PTR(10), *fc2_w = PTR(11),
              *fc2_b = PTR(12), *past_k = PTR(13), *past_v = PTR(14), *mask = PTR(15);
  float *new_k = PTR(16), *new_v = PTR(17), *y = PTR(18);
#undef PTR
  const int32_t past_cap = sizes[0], B = sizes[1], T = sizes[2], P = sizes[3], H = sizes[4], hs = sizes[5], F = sizes[6],
                mask_batch = sizes[7], new_cap = sizes[8], keep_cache = sizes[9], threads = sizes[10];
  const int32_t R = B * T, C = H * hs;
  const size_t rc = (size_t)R * C, rf = (size_t)R * F;
  float *scratch = malloc(sizeof(float) * (8 * rc + 2 * rf + 2 * (size_t)R)); /* h, qkv (3), att, proj, x1, mlp; fc, act; mean, rstd */
  if (!scratch) return -1;
  float *h = scratch, *qkv = h + rc, *att = qkv + 3 * rc, *proj = att + rc, *x1 = proj + rc, *fc = x1 + rc;
  float *act = fc + rf, *mlp = act + rf, *mean = mlp + rc, *rstd = mean + R;
  layer_norm_forward(x, ln1_w, ln1_b, R, C, eps, h, mean, rstd);
  parallel_linear(R, 3 * C, C, h, attn_w, attn_b, qkv, threads);
  attention_inference(qkv, past_k, past_v, past_cap, mask, B, T, P, H, hs, mask_batch, scale, new_k, new_v, new_cap,
                      keep_cache, att);
  parallel_linear(R, C, C, att, proj_w, proj_b, proj, threads);
  add_arrays(x, proj, (int32_t)rc, x1);
  layer_norm_forward(x1, ln2_w, ln2_b, R, C, eps, h, mean, rstd);
  parallel_linear(R, F, C, h, fc_w, fc_b, fc, threads);
  gelu_new_forward(fc, act, (int32_t)rf);
  parallel_linear(R, C, F, act, fc2_w, fc2_b, mlp, threads);
  add_arrays(x1, mlp, (int32_t)rc, y);
  free(scratch);
  return 0;
}
