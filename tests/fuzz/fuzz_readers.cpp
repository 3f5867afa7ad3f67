// Fuzz target: the command-line tool's CSV, .npy (every stored type) and raw readers. Malformed input must end in
// lloyd_io::InputError; a table that is returned must be consistent and finite.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "../../file_io/readers.hpp"

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_readers: invariant broken: %s\n", what);
  std::abort();
}
template <class T>
void check(const lloyd_io::Table<T>& t) {
  if (t.rows == 0 || t.cols == 0 || t.values.size() != t.rows * t.cols) fail("table shape");
  for (T v : t.values)
    if (!std::isfinite(v)) fail("non-finite value accepted");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::istringstream in(text);
  try {
    if (mode % 3 == 0) {
      if (mode & 0x80)  // as float32 too: values float32 cannot hold must be errors
        check(lloyd_io::read_npy<float>(in, "fuzz.npy"));
      else
        check(lloyd_io::read_npy<double>(in, "fuzz.npy"));
    } else if (mode % 3 == 1) {
      const char delims[] = {0, ',', ';', '\t', ' ', '|'};
      lloyd_io::CsvOptions opt;
      opt.delimiter = delims[(mode / 3) % 6];
      opt.header = int((mode / 18) % 3) - 1;
      check(lloyd_io::read_csv<double>(in, "fuzz.csv", opt));
    } else {
      check(lloyd_io::read_raw_f32<float>(in, "fuzz.f32", 1 + (mode / 3) % 7));
    }
  } catch (const lloyd_io::InputError&) {
  }
  return 0;
}

#ifdef LLOYD_FUZZ_REPLAY
#include "replay_main.hpp"
#endif
