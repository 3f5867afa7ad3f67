// Builds against lloyd::mpi from an installed lloyd (tests/find-package-test): one fit
// on this process's rows, run as a single rank.
#include <lloyd/lloyd.hpp>
#include <lloyd/mpi.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const auto blobs = lloyd::make_blobs<double>(500, 3, 4, 0.5, 1);
  lloyd::Params p;
  p.n_clusters = 4;
  const auto r = lloyd::mpi::fit(MPI_COMM_WORLD, blobs.X, p);
  std::printf("mpi consumer: inertia %.3f after %d iterations\n", r.inertia, r.n_iter);
  MPI_Finalize();
  return r.labels.size() == 500 ? 0 : 1;
}
