// Writes the binary inputs of the lloyd-cluster tests into the current directory: .npy
// files good and bad, and raw float32.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

void npy(const char* path, int major, const std::string& dict, const std::vector<unsigned char>& payload) {
  std::string h = dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  h.append((64 - (prefix + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY", 6);
  f.put(static_cast<char>(major));
  f.put(0);
  const std::uint32_t len = static_cast<std::uint32_t>(h.size());
  for (std::size_t b = 0; b < (major == 1 ? 2u : 4u); ++b) f.put(static_cast<char>((len >> (8 * b)) & 0xff));
  f << h;
  f.write(reinterpret_cast<const char*>(payload.data()), static_cast<std::streamsize>(payload.size()));
}

template <class T>
std::vector<unsigned char> bytes(const std::vector<T>& v) {
  std::vector<unsigned char> out(v.size() * sizeof(T));
  std::copy(reinterpret_cast<const unsigned char*>(v.data()), reinterpret_cast<const unsigned char*>(v.data()) + out.size(),
            out.begin());
  return out;
}

}  // namespace

int main() {
  // 40 rows x 3 features in 4 clear groups.
  std::vector<double> d64;
  for (int i = 0; i < 40; ++i)
    for (int j = 0; j < 3; ++j) d64.push_back(10.0 * (i % 4) + 0.01 * ((i * 7 + j) % 5));
  std::vector<float> d32(d64.begin(), d64.end());
  npy("good64.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (40, 3), }", bytes(d64));
  npy("good32.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (40, 3), }", bytes(d32));
  npy("good_v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (40, 3), }", bytes(d32));
  npy("vector.npy", 3, "{'descr': '<f8', 'fortran_order': False, 'shape': (120,), }", bytes(d64));
  // The same groups in the other stored types the tool converts.
  auto swapped = bytes(d64);
  for (std::size_t q = 0; q < swapped.size(); q += 8) std::reverse(swapped.begin() + q, swapped.begin() + q + 8);
  npy("bigendian.npy", 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (40, 3), }", swapped);
  std::vector<double> columns;  // column-major
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 40; ++i) columns.push_back(d64[static_cast<std::size_t>(i * 3 + j)]);
  npy("fortran.npy", 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (40, 3), }", bytes(columns));
  std::vector<std::int32_t> i32;
  std::vector<std::int8_t> i8;
  std::vector<std::uint8_t> u8;
  std::vector<std::uint16_t> f16;
  for (int i = 0; i < 40; ++i)
    for (int j = 0; j < 3; ++j) {
      const int small = (i * 7 + j) % 5;
      i32.push_back(1000 * (i % 4) + small);
      i8.push_back(static_cast<std::int8_t>(30 * (i % 4) - 50 + small));
      u8.push_back(static_cast<std::uint8_t>(60 * (i % 4) + small));
      // float16 of 10 (i % 4) + small / 4: sign 0, exponent and 10 mantissa bits.
      const double v = 10.0 * (i % 4) + 0.25 * small;
      std::uint16_t h = 0;
      if (v > 0) {
        const int e = static_cast<int>(std::floor(std::log2(v)));
        h = static_cast<std::uint16_t>(((e + 15) << 10) | static_cast<int>(std::lround((v / std::ldexp(1.0, e) - 1) * 1024)));
      }
      f16.push_back(h);
    }
  npy("int32.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (40, 3), }", bytes(i32));
  npy("int8.npy", 1, "{'descr': '|i1', 'fortran_order': False, 'shape': (40, 3), }", bytes(i8));
  npy("uint8.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (40, 3), }", bytes(u8));
  npy("half.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (40, 3), }", bytes(f16));
  f16[5] = 0x7c00;  // +inf
  npy("half_inf.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (40, 3), }", bytes(f16));
  npy("complex.npy", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (40, 3), }", std::vector<unsigned char>(960));
  npy("cube.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4, 15), }", bytes(d64));
  auto half = bytes(d64);
  half.resize(half.size() / 2);
  npy("truncated.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (40, 3), }", half);
  std::vector<double> with_nan = d64;
  with_nan[3 * 7 + 2] = 0.0 / 0.0;
  npy("nan.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (40, 3), }", bytes(with_nan));
  std::ofstream("notnpy.npy") << "this is not a numpy file\n";
  // Centroids files for --init FILE and predict: the 4 group centres, and bad ones.
  std::ofstream("centroids4.csv") << "0,0,0\n10,10,10\n20,20,20\n30,30,30\n";
  std::ofstream("centroids_2d.csv") << "0,0\n10,10\n";
  std::ofstream("centroids_nan.csv") << "0,0,0\nnan,1,1\n";
  std::ofstream raw("good.f32", std::ios::binary);
  raw.write(reinterpret_cast<const char*>(d32.data()), static_cast<std::streamsize>(d32.size() * sizeof(float)));
  std::puts("fixtures written");
  return 0;
}
