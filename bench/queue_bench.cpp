// tb-bench-queue: enqueue -> claim -> complete throughput of the PostgreSQL job
// queue (the "Queue" figure of README.md's Performance section), with the
// production Worker and store code.
//
//   tb-bench-queue CONNINFO JOBS PROCESSES [CONCURRENCY] [ENQUEUERS]
//
// Forks PROCESSES worker processes (each a jobs::Worker with CONCURRENCY
// threads, default 2 like WORKER_CONCURRENCY) that run a registered no-op
// handler for the type "bench.noop", then enqueues JOBS jobs from the parent
// on ENQUEUERS connections at once (default 4; each job one autocommit insert
// NOTIFYing "tb_jobs", as the API's requests do) while the workers drain
// them, and waits until every job is completed.
// Prints one JSON line: jobs/s from the first enqueue to the last completion,
// plus the enqueue-only rate. It asserts nothing (scripts/bench.sh tabulates).
//
// The fork happens before the parent opens any connection or starts any
// thread, so children inherit no libpq socket and no lock.
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "db/connection.hpp"
#include "db/migrate.hpp"
#include "jobs/worker.hpp"
#include "store/jobs.hpp"

namespace {

constexpr const char* kType = "bench.noop";

[[noreturn]] void run_worker_process(const std::string& conninfo, int concurrency, int stop_fd,
                                     int index) {
  tb::jobs::WorkerOptions options;
  options.conninfo = conninfo;
  options.concurrency = concurrency;
  options.worker_id = "bench:" + std::to_string(::getpid()) + ":" + std::to_string(index);
  options.progress_interval = std::chrono::milliseconds(250);
  std::map<std::string, tb::jobs::Handler> handlers;
  handlers[kType] = [](tb::jobs::JobContext&) { return tb::jobs::JobOutcome{}; };
  {
    tb::jobs::Worker worker(options, std::move(handlers));
    worker.start();
    char c = 0;
    // Blocks until the parent closes its end of the pipe.
    while (::read(stop_fd, &c, 1) > 0) {
    }
    worker.stop();
  }
  std::fflush(nullptr);
  ::_exit(0);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s CONNINFO JOBS PROCESSES [CONCURRENCY]\n", argv[0]);
    return 2;
  }
  const std::string conninfo = argv[1];
  const int jobs = std::atoi(argv[2]);
  const int processes = std::atoi(argv[3]);
  const int concurrency = argc > 4 ? std::atoi(argv[4]) : 2;
  const int enqueuers = argc > 5 ? std::max(1, std::atoi(argv[5])) : 4;
  spdlog::set_level(spdlog::level::warn);

  try {
    {
      auto conn = tb::db::Connection::open(conninfo);
      tb::db::migrate(conn);
      conn.query("DELETE FROM control_plane.jobs WHERE type = $1", kType);
    }  // closed before fork

    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return 1;
    std::vector<pid_t> children;
    for (int i = 0; i < processes; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(pipe_fds[1]);
        run_worker_process(conninfo, concurrency, pipe_fds[0], i);
      }
      children.push_back(pid);
    }
    ::close(pipe_fds[0]);
    // Let the workers connect and LISTEN before the clock starts.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));

    auto conn = tb::db::Connection::open(conninfo);
    // Producers: like API requests, each enqueue is its own autocommit INSERT
    // on one of `enqueuers` connections working at once.
    std::vector<tb::db::Connection> producer_conns;
    for (int p = 0; p < enqueuers; ++p)
      producer_conns.push_back(tb::db::Connection::open(conninfo));
    const auto t0 = std::chrono::steady_clock::now();
    {
      std::vector<std::thread> producers;
      for (int p = 0; p < enqueuers; ++p) {
        producers.emplace_back([&, p] {
          for (int i = p; i < jobs; i += enqueuers) {
            tb::store::NewJob job;
            job.type = kType;
            tb::store::enqueue_job(producer_conns[static_cast<std::size_t>(p)], job);
          }
        });
      }
      for (auto& t : producers) t.join();
    }
    const double enqueue_s = seconds_since(t0);
    std::int64_t done = 0;
    while (true) {
      auto r = conn.query(
          "SELECT count(*) FROM control_plane.jobs WHERE type = $1 AND status = 'completed'",
          kType);
      done = r.int64(0, 0);
      if (done >= jobs) break;
      if (seconds_since(t0) > 600) break;
      // 20 ms: polling faster steals measurable CPU from the workers on 2 cores.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double total_s = seconds_since(t0);

    ::close(pipe_fds[1]);
    for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
    conn.query("DELETE FROM control_plane.jobs WHERE type = $1", kType);

    std::printf(
        "{\"processes\":%d,\"concurrency\":%d,\"enqueuers\":%d,\"jobs\":%d,\"completed\":%lld,"
        "\"enqueue_s\":%.4f,\"total_s\":%.4f,\"enqueue_per_s\":%.1f,\"jobs_per_s\":%.1f}\n",
        processes, concurrency, enqueuers, jobs, static_cast<long long>(done), enqueue_s, total_s,
        jobs / enqueue_s, static_cast<double>(done) / total_s);
    return done >= jobs ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tb-bench-queue: %s\n", e.what());
    return 1;
  }
}
