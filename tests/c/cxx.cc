// C++ through arenapool's operator new/delete (tests/preload.rs): every form
// round-trips ("ok"), and in secure mode a block that goes back the wrong
// way is reported (the other modes).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

struct Base { long a; ~Base() {} };
struct Derived : Base { long b[8]; };
struct alignas(256) Wide { char x[300]; };

// Keeps the compiler from pairing or eliding the calls under test.
template <class T> T *opaque(T *p) { asm volatile("" : "+r"(p)); return p; }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "ok";
  if (!strcmp(mode, "ok")) {
    std::vector<std::string> v;
    for (int i = 0; i < 20000; i++) v.push_back(std::string(i % 300, 'x'));
    for (int i = 0; i < 1000; i++) {
      char *a = opaque(new char[1 + i * 37]);
      Derived *d = opaque(new Derived);
      Wide *w = opaque(new Wide);
      if ((unsigned long)w % 256) { puts("FAIL misaligned"); return 1; }
      int *n = opaque(new (std::nothrow) int[i + 1]);
      delete[] a;
      delete d;
      delete w;
      delete[] n;
    }
    char *big = opaque(new char[300 << 10]);
    delete[] big;
    puts("cxx: ok");
    return 0;
  }
  if (!strcmp(mode, "delete-of-new-array")) {
    char *p = opaque(new char[40]);
    delete opaque(p);
  } else if (!strcmp(mode, "delete-array-of-new")) {
    char *p = opaque(new char);
    delete[] opaque(p);
  } else if (!strcmp(mode, "sized-delete-wrong-size")) {
    Base *p = opaque(static_cast<Base *>(new Derived));
    delete p;  // non-virtual destructor: sized delete with sizeof(Base)
  }
  puts("cxx: not caught");
  return 0;
}
