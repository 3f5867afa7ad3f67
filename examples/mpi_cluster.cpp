// Distributed k-means over MPI: every rank reads its own range of rows of one .npy file
// (float32 or float64, shape (n, d)) and the ranks fit one model together.
//
//   mpiexec -n 4 ./example_mpi_cluster data.npy 100            # k = 100
//   mpiexec -n 4 ./example_mpi_cluster data.npy 100 --iters 20 # exactly 20 iterations
//   mpiexec -n 2 ./example_mpi_cluster blobs.npy 8 --generate 200000 32   # write a test file first
//   mpiexec -n 2 ./example_mpi_cluster data.npy 100 --threads 1  # one thread per rank
//
// On a cluster: mpiexec -n 64 --hostfile hosts ./example_mpi_cluster /shared/data.npy 1000
#include <lloyd/lloyd.hpp>
#include <lloyd/mpi.hpp>

#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// The rows [first, first + count) of a C-ordered little-endian float32/float64 .npy
// file, as double; total rows and features in n, d.
std::vector<double> read_npy_rows(const std::string& path, int rank, int ranks, std::size_t& n, std::size_t& d,
                                  std::size_t& first, std::size_t& count) {
  std::ifstream in(path, std::ios::binary);
  char magic[10];
  if (!in.read(magic, 10) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(path + ": not a .npy file");
  std::uint32_t header_len = static_cast<unsigned char>(magic[8]) | (static_cast<unsigned char>(magic[9]) << 8);
  if (magic[6] != 1) {  // versions 2 and 3: a 4-byte length
    char more[2];
    in.read(more, 2);
    header_len |= (static_cast<std::uint32_t>(static_cast<unsigned char>(more[0])) << 16) |
                  (static_cast<std::uint32_t>(static_cast<unsigned char>(more[1])) << 24);
  }
  std::string header(header_len, '\0');
  in.read(&header[0], header_len);
  const std::size_t data_start = static_cast<std::size_t>(in.tellg());
  const bool f4 = header.find("'<f4'") != std::string::npos, f8 = header.find("'<f8'") != std::string::npos;
  const std::size_t shape = header.find("'shape': (");
  if (!in || !(f4 || f8) || header.find("'fortran_order': False") == std::string::npos || shape == std::string::npos)
    throw std::runtime_error(path + ": need a C-ordered '<f4' or '<f8' array of shape (n, d)");
  char* end = nullptr;
  n = std::strtoull(header.c_str() + shape + 10, &end, 10);
  d = *end == ',' ? std::strtoull(end + 1, &end, 10) : 1;
  if (d == 0) d = 1;  // shape (n,)
  // An even split of the rows: rank r gets [n r / ranks, n (r + 1) / ranks).
  first = n * static_cast<std::size_t>(rank) / static_cast<std::size_t>(ranks);
  count = n * static_cast<std::size_t>(rank + 1) / static_cast<std::size_t>(ranks) - first;
  const std::size_t item = f4 ? 4 : 8;
  std::vector<char> raw(count * d * item);
  in.seekg(static_cast<std::streamoff>(data_start + first * d * item));
  if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size()))) throw std::runtime_error(path + ": truncated data");
  std::vector<double> rows(count * d);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (f4) {
      float v;
      std::memcpy(&v, raw.data() + i * 4, 4);
      rows[i] = v;
    } else {
      std::memcpy(&rows[i], raw.data() + i * 8, 8);
    }
  }
  return rows;
}

// Blobs written as float32 .npy (rank 0 only).
void write_blobs(const std::string& path, std::size_t n, std::size_t d, std::size_t centers) {
  const auto blobs = lloyd::make_blobs<float>(n, d, centers, 1.0, 2024);
  std::ofstream out(path, std::ios::binary);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(n) + ", " + std::to_string(d) + "), }";
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  const char len[2] = {static_cast<char>(dict.size() & 0xff), static_cast<char>(dict.size() >> 8)};
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(len, 2);
  out << dict;
  for (std::size_t i = 0; i < n; ++i) out.write(reinterpret_cast<const char*>(blobs.X.row(i)), static_cast<std::streamsize>(d * 4));
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int status = 0;
  try {
    if (argc < 3) throw std::invalid_argument("usage: mpi_cluster FILE.npy K [--iters N] [--threads T] [--lloyd] [--generate ROWS FEATURES]");
    const std::string path = argv[1];
    lloyd::Params p;
    p.n_clusters = std::strtoul(argv[2], nullptr, 10);
    p.seed = 1;
    for (int a = 3; a < argc; ++a) {
      const std::string opt = argv[a];
      if (opt == "--iters" && a + 1 < argc) {
        p.max_iter = std::atoi(argv[++a]);
        p.run_till_max_iter = true;
      } else if (opt == "--lloyd") {
        p.algorithm = lloyd::Algorithm::Lloyd;  // full passes (default: Auto, usually Hamerly)
      } else if (opt == "--threads" && a + 1 < argc) {
        p.n_threads = std::atoi(argv[++a]);  // per rank (default: all of the machine's)
      } else if (opt == "--generate" && a + 2 < argc) {
        const std::size_t rows = std::strtoull(argv[a + 1], nullptr, 10), features = std::strtoull(argv[a + 2], nullptr, 10);
        a += 2;
        if (rank == 0) write_blobs(path, rows, features, p.n_clusters);
        MPI_Barrier(MPI_COMM_WORLD);
      } else {
        throw std::invalid_argument("unknown option " + opt);
      }
    }

    std::size_t n = 0, d = 0, first = 0, count = 0;
    const std::vector<double> rows = read_npy_rows(path, rank, ranks, n, d, first, count);
    const lloyd::MatrixView<const double> local(rows.data(), count, d);

    // Seeding time: what elapsed before the first iteration began.
    double seeding = 0;
    p.on_iteration = [&](const lloyd::IterationStats& s) {
      if (s.iteration == 1) seeding = s.elapsed_seconds - s.seconds;
    };
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    const lloyd::Result<double> r = lloyd::mpi::fit(MPI_COMM_WORLD, local, p);
    const double seconds = MPI_Wtime() - t0;

    // Cluster sizes: local counts added over the ranks.
    std::vector<long long> local_size(p.n_clusters, 0), size(p.n_clusters, 0);
    for (auto label : r.labels) ++local_size[static_cast<std::size_t>(label)];
    MPI_Reduce(local_size.data(), size.data(), static_cast<int>(p.n_clusters), MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      std::printf("%zu rows x %zu features on %d ranks, k = %zu\n", n, d, ranks, p.n_clusters);
      std::printf("%s after %d iterations in %.3f s (seeding %.3f s, then %.2f ms per iteration), inertia %.6g\n",
                  p.run_till_max_iter ? "ran" : r.converged ? "converged" : "stopped", r.n_iter, seconds, seeding,
                  1e3 * (seconds - seeding) / r.n_iter, r.inertia);
      std::printf("cluster sizes:");
      for (std::size_t c = 0; c < std::min<std::size_t>(p.n_clusters, 20); ++c) std::printf(" %lld", size[c]);
      std::printf(p.n_clusters > 20 ? " ...\n" : "\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", rank, e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
