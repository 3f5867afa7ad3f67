// Peak resident memory of lloyd-cluster fitting a float32 .npy of n x d (default
// 1 000 000 x 128, 488 MiB), k = 50, to within 1.15 x the file: the file is mapped, not
// read into a copy, and the fit adds only labels, bounds and centroids. Then
// `lloyd-cluster predict` with the centroids the fit wrote must write exactly the fit's
// labels (same bytes), within the same memory bound. Writes the file in the working
// directory, runs the tool as child processes, reads their peak (getrusage), removes the
// files. Prints the figures; exits 1 when a check fails.
//
//   cli_peak_memory LLOYD_CLUSTER [n] [d]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

// Runs args (args[0] a path) as a child process; its exit status, or -1.
int run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cli_peak_memory LLOYD_CLUSTER [n] [d]\n");
    return 2;
  }
  const std::size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
  const std::size_t d = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 128;
  const std::string path = "peak_memory_input.npy", labels = "peak_memory_labels.npy",
                    centroids = "peak_memory_centroids.npy", predicted = "peak_memory_predicted.npy";

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

  const int fit_status = run({argv[1], "-k", "50", "--max-iter", "3", "--quiet", "--labels", labels, "--centroids",
                              centroids, path});
  const int predict_status =
      fit_status == 0 ? run({argv[1], "predict", "--quiet", "--centroids", centroids, "--labels", predicted, path}) : -1;
  struct rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);  // the larger of the two children's peaks
  const bool same_labels = !slurp(labels).empty() && slurp(labels) == slurp(predicted);
  for (const std::string& f : {path, labels, centroids, predicted}) std::remove(f.c_str());
  if (fit_status != 0 || predict_status != 0) {
    std::fprintf(stderr, "cli_peak_memory: lloyd-cluster failed (fit %d, predict %d)\n", fit_status, predict_status);
    return 1;
  }
  std::printf("cli_peak_memory: predict with the saved centroids wrote %s labels as the fit\n",
              same_labels ? "the same" : "DIFFERENT");
  const double peak = double(usage.ru_maxrss) * 1024.0;  // Linux: kilobytes
  const double ratio = peak / file_bytes;
  std::printf("cli_peak_memory: %zu x %zu float32 .npy (%.1f MiB), k = 50, 3 iterations + labels, then predict: "
              "peak %.1f MiB = %.3f x the file (bound 1.15)\n",
              n, d, file_bytes / 1048576.0, peak / 1048576.0, ratio);
  return ratio <= 1.15 && same_labels ? 0 : 1;
}
