/* The training attention kernels timed alone (best of 30), to compare builds:
 *   for m in native haswell; do gcc -O3 -march=$m -fopenmp-simd -fno-math-errno -fno-trapping-math -pthread \
 *     -o /tmp/bench_attention_$m reference/bench_attention.c lib/fast/native/kernels.c -lm && /tmp/bench_attention_$m; done
 * B = 8, T = 128, H = 4, hs = 32 (gpt2-micro at the benchmark's batch), a causal mask, one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
int32_t attention_train_forward(const float *qkv, const float *mask, int32_t B, int32_t T, int32_t H, int32_t hs, int32_t mask_batch, float scale, int32_t threads, float *out);
int32_t attention_train_backward(const float *qkv, const float *mask, const float *dout, int32_t B, int32_t T, int32_t H, int32_t hs, int32_t mask_batch, float scale, int32_t threads, float *dqkv);
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
int main(){int B=8,T=128,H=4,hs=32,C=H*hs;
 float*qkv=malloc(sizeof(float)*B*T*3*C),*mask=malloc(sizeof(float)*T*T),*out=malloc(sizeof(float)*B*T*C),*dout=malloc(sizeof(float)*B*T*C),*dqkv=malloc(sizeof(float)*B*T*3*C);
 for(int i=0;i<B*T*3*C;i++)qkv[i]=(rand()/(float)RAND_MAX-0.5f);
 for(int i=0;i<B*T*C;i++)dout[i]=(rand()/(float)RAND_MAX-0.5f);
 for(int t=0;t<T;t++)for(int j=0;j<T;j++)mask[t*T+j]=j<=t?0:-1e9f;
 double bf=1e9,bb=1e9;
 for(int r=0;r<30;r++){double a=now();attention_train_forward(qkv,mask,B,T,H,hs,1,0.17f,1,out);double b=now();attention_train_backward(qkv,mask,dout,B,T,H,hs,1,0.17f,1,dqkv);double c=now();if(b-a<bf)bf=b-a;if(c-b<bb)bb=c-b;}
 printf("forward %.2f ms backward %.2f ms\n",bf,bb);}
