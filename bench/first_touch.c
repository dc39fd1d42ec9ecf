/* first_touch: what a first write to fresh memory costs on this machine, per GiB.
 *
 *   cc -O2 -o first_touch bench/first_touch.c && ./first_touch 3 3 12
 *
 * For each argument N: maps N GiB of anonymous memory (no huge pages), writes one byte into
 * every 4 KiB page and prints the wall and CPU seconds of each GiB, then unmaps it. A second
 * round reuses pages the first one just freed; a larger N reaches pages nobody used lately. On
 * the project's VM the two differ by 2-5x (bench/RESULTS.md "The 4 GiB local and peer hit"):
 * memory that page-cache reclaim hands back costs more to fill again than memory just freed.
 * Not part of the product, never run by the tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/resource.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(){struct rusage r;getrusage(RUSAGE_SELF,&r);return r.ru_utime.tv_sec+r.ru_utime.tv_usec/1e6+r.ru_stime.tv_sec+r.ru_stime.tv_usec/1e6;}
int main(int argc,char**argv){
  for(int a=1;a<argc;a++){
    size_t gib=atol(argv[a]); size_t n=gib<<30;
    char*p=mmap(0,n,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
    if(p==MAP_FAILED){perror("mmap");return 1;}
    madvise(p,n,MADV_NOHUGEPAGE);
    for(size_t g=0;g<gib;g++){double t0=now(),c0=cpu();
      for(size_t o=g<<30;o<(g+1)<<30;o+=4096)p[o]=1;
      printf("%zu GiB run, GiB %zu: %.2f s wall %.2f s cpu\n",gib,g,now()-t0,cpu()-c0);}
    munmap(p,n);
  }
}
