// Peak resident memory of lloyd-cluster fitting a float32 .npy of n x d (default
// 1 000 000 x 128, 488 MiB), k = 50, to within 1.15 x the file: the file is mapped, not
// read into a copy, and the fit adds only labels, bounds and centroids. Writes the file
// in the working directory, runs the tool as a child process, reads the child's peak
// (getrusage), removes the file. Prints the figures; exits 1 when the bound fails.
//
//   cli_peak_memory LLOYD_CLUSTER [n] [d]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cli_peak_memory LLOYD_CLUSTER [n] [d]\n");
    return 2;
  }
  const std::size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
  const std::size_t d = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 128;
  const std::string path = "peak_memory_input.npy", labels = "peak_memory_labels.npy";

  // The .npy: a 128-byte header, then n x d float32 values written a row block at a time.
  {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(n) + ", " +
                         std::to_string(d) + "), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::ofstream out(path, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
    out.write(len, 2);
    out << header;
    std::uint64_t state = 12345;
    std::vector<float> block(4096 * d);
    for (std::size_t done = 0; done < n;) {
      const std::size_t rows = std::min<std::size_t>(4096, n - done);
      for (std::size_t q = 0; q < rows * d; ++q) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        block[q] = static_cast<float>(state >> 40) / float(1 << 24);  // uniform in [0, 1)
      }
      out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(rows * d * sizeof(float)));
      done += rows;
    }
    if (!out) {
      std::fprintf(stderr, "cli_peak_memory: cannot write %s\n", path.c_str());
      return 2;
    }
  }
  const double file_bytes = double(n) * double(d) * sizeof(float) + 128;

  const pid_t child = fork();
  if (child == 0) {
    execl(argv[1], argv[1], "-k", "50", "--max-iter", "3", "--quiet", "--labels", labels.c_str(), path.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  struct rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
  std::remove(path.c_str());
  std::remove(labels.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "cli_peak_memory: lloyd-cluster failed (status %d)\n", status);
    return 1;
  }
  const double peak = double(usage.ru_maxrss) * 1024.0;  // Linux: kilobytes
  const double ratio = peak / file_bytes;
  std::printf("cli_peak_memory: %zu x %zu float32 .npy (%.1f MiB), k = 50, 3 iterations + labels: peak %.1f MiB = "
              "%.3f x the file (bound 1.15)\n",
              n, d, file_bytes / 1048576.0, peak / 1048576.0, ratio);
  return ratio <= 1.15 ? 0 : 1;
}
