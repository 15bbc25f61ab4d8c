#include "dsiem/node/serve.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <condition_variable>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "dsiem/alarm/file_writer.h"
#include "dsiem/common/clock.h"
#include "dsiem/common/log.h"
#include "dsiem/config/assets.h"
#include "dsiem/config/directive.h"
#include "dsiem/config/lookup_sources.h"
#include "dsiem/correlate/pipeline.h"
#include "dsiem/http/config_routes.h"
#include "dsiem/http/server.h"
#include "dsiem/http/static_files.h"
#include "dsiem/node/event_ingest.h"
#include "dsiem/node/overload.h"
#include "dsiem/ops/counters.h"
#include "dsiem/ops/expvar.h"
#include "dsiem/ops/health.h"

#ifndef DSIEM_VERSION
#define DSIEM_VERSION ""
#endif

namespace dsiem::node {

namespace {

// A start-up failure: the message is printed on stderr and the process exits 1.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::size_t default_shards() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw <= 2 ? 1 : std::min<unsigned>(hw - 1, 8);
}

int64_t thread_count() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "Threads:") {
      int64_t n = 0;
      in >> n;
      return n;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

// Writes configs/dsiem_config.json (mode 0644); a failure is only a warning (gaps C5).
std::string write_config_dump(const std::filesystem::path& configs, const cli::Settings& s) {
  const auto path = configs / "dsiem_config.json";
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  if (!out) return "Cannot write " + path.string() + ", continuing without it";
  out << cli::dsiem_config_json(s);
  out.close();
  ::chmod(path.c_str(), 0644);
  return "";
}

// Periodic work of a correlating node: overload timer, EPS window, limiter adjustment,
// counters and the watchdog log line (overview.md §8).
class Housekeeping {
 public:
  struct Parts {
    OverloadHysteresis* hysteresis = nullptr;
    EpsLimiter* limiter = nullptr;
    OverloadFlag* flag = nullptr;
    EventIngest* ingest = nullptr;
    correlate::Pipeline* pipeline = nullptr;
    ops::Counters* counters = nullptr;
  };
  explicit Housekeeping(Parts parts) : p_(parts), thread_([this] { run(); }) {}
  ~Housekeeping() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    using namespace std::chrono;
    const auto start = steady_clock::now();
    auto next_second = start + seconds(5);
    auto next_watchdog = start + seconds(5);
    auto next_adjust = start + seconds(10);
    auto next_queue_report = start + seconds(30);
    bool sampled_threads = false;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, milliseconds(100), [this] { return stop_; })) {
      const auto now = steady_clock::now();
      if (p_.hysteresis) p_.hysteresis->poll();
      if (now >= next_second) {
        next_second += seconds(1);
        const auto eps = static_cast<int64_t>(p_.ingest ? p_.ingest->take_request_count() : 0);
        p_.counters->eps_counter.store(eps);
        if (!sampled_threads) {
          p_.counters->goroutine_counter.store(thread_count());
          sampled_threads = true;
        }
      }
      if (p_.limiter && p_.limiter->enabled() && now >= next_adjust) {
        next_adjust += seconds(10);
        p_.limiter->adjust(p_.flag->get());
      }
      if (now >= next_watchdog) {
        next_watchdog += seconds(10);
        std::string text;
        if (p_.pipeline) {
          const auto backlogs = static_cast<int64_t>(p_.pipeline->backlog_count());
          p_.counters->backlog_counter.store(backlogs);
          text = "# of backlogs: " + std::to_string(backlogs) + " directives (in-use/total): " +
                 std::to_string(p_.pipeline->active_directive_count()) + "/" +
                 std::to_string(p_.pipeline->directive_count());
        }
        if (p_.ingest) {
          text += (text.empty() ? "" : " ") + std::string("events/sec: ") +
                  std::to_string(p_.counters->eps_counter.load());
        }
        log::info("Watchdog tick ended, " + text);
      }
      if (p_.pipeline && now >= next_queue_report) {
        next_queue_report += seconds(30);
        log::info("Backend queue length: " + std::to_string(p_.pipeline->queue_length()));
      }
    }
  }

  Parts p_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

int run_standalone(const cli::Settings& s, const std::filesystem::path& base,
                   const sigset_t& signals) {
  const auto configs = base / "configs";
  const auto logs = base / "logs";
  const Clock& clock = SystemClock::instance();

  std::shared_ptr<const config::Assets> assets;
  std::vector<config::Directive> directives;
  std::unique_ptr<alarm::FileWriter> writer;
  try {
    assets = std::make_shared<const config::Assets>(config::Assets::load(configs));
    config::load_lookup_sources(configs, config::LookupKind::kIntel);
    config::load_lookup_sources(configs, config::LookupKind::kVuln);
    config::DirectiveSet set;
    try {
      set = config::load_directives(configs, "directives_*.json");
    } catch (const config::ConfigError& e) {
      throw StartupError(std::string("Cannot initialize directives: ") + e.what());
    }
    if (set.directives.empty()) {
      throw StartupError("Cannot initialize directives: no directive loaded from the file");
    }
    log::info("Successfully Loaded " + std::to_string(set.directives.size()) + "/" +
              std::to_string(set.total) + " defined directives.");
    directives = std::move(set.directives);
    try {
      writer = std::make_unique<alarm::FileWriter>(logs);
    } catch (const std::exception& e) {
      throw StartupError(std::string("Cannot initialize alarm: ") + e.what());
    }
  } catch (const config::ConfigError& e) {
    throw StartupError(e.what());
  }

  OverloadFlag flag;
  OverloadHysteresis hysteresis(s.hold_duration, clock, [&flag](bool v) { flag.receive(v); });
  EpsLimiter limiter(s.max_eps, s.min_eps, clock);

  correlate::Pipeline::Options popts;
  popts.shards = default_shards();
  popts.capacity = s.max_queue > 0 ? static_cast<std::size_t>(s.max_queue) * 2 : 0;
  popts.engine.min_alarm_lifetime_minutes = s.min_alarm_lifetime;
  popts.engine.max_delay_seconds = s.max_delay;
  popts.engine.alarm.status = s.status.front();
  popts.engine.alarm.tag = s.tags.front();
  popts.engine.alarm.med_risk_min = s.med_risk_min;
  popts.engine.alarm.med_risk_max = s.med_risk_max;
  // Outputs exist before the first event can arrive (gaps A10).
  correlate::Pipeline pipeline(std::move(directives), assets, clock, *writer, popts,
                               [&hysteresis] { hysteresis.report(); });
  hysteresis.start();

  std::atomic<bool> accepting{true};
  EventIngest ingest(
      clock, limiter,
      [&](std::shared_ptr<event::Event> e) {
        if (assets->is_whitelisted(e->src_ip)) {
          log::debug("Skipping event, Source IP " + e->src_ip + " is whitelisted.");
          return HandOver::kAccepted;
        }
        return pipeline.push(std::move(e)) ? HandOver::kAccepted : HandOver::kFull;
      },
      [&accepting] { return accepting.load(); });

  auto counters = std::make_shared<ops::Counters>();
  auto router = std::make_shared<http::Router>();
  ingest.add_routes(*router);
  http::add_config_routes(*router, configs, s.writeable_config);
  http::add_static_route(*router, "/ui/", base / "web" / "dist");
  ops::add_debug_vars_route(*router, counters);
  ops::add_health_routes(*router, [&accepting] { return accepting.load(); });

  http::ServerOptions sopts;
  sopts.address = s.address;
  sopts.port = static_cast<uint16_t>(s.port);
  sopts.threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  http::Server server(sopts, router);
  try {
    server.start();
  } catch (const std::exception& e) {
    pipeline.stop();
    writer->stop();
    throw StartupError(std::string("Cannot start server: ") + e.what());
  }
  log::info("Server listening on " + s.address + ":" + std::to_string(server.port()));

  {
    Housekeeping housekeeping({&hysteresis, &limiter, &flag, &ingest, &pipeline, counters.get()});
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        writer->reopen();
        continue;
      }
      log::info(std::string("Received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
      break;
    }
    // Graceful stop (decisions.md §5): refuse new events, drain accepted ones, flush outputs.
    accepting.store(false);
    ingest.stop();
    server.stop();
  }
  pipeline.stop();
  writer->stop();
  log::info("dsiem stopped");
  log::flush();
  return 0;
}

}  // namespace

int serve(const cli::Settings& s) {
  // Every thread inherits this mask, so the signals reach only the sigwait() below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (const std::string err = cli::check_serve_settings(s); !err.empty()) {
    std::cerr << err << std::endl;
    return 1;
  }
  const auto base = cli::base_dir(s.dev);
  const std::string dump_warning = write_config_dump(base / "configs", s);
  log::setup(s.debug);
  if (!dump_warning.empty()) log::warn(dump_warning);
  log::info("Starting dsiem " + std::string(DSIEM_VERSION) + " in " + s.mode + " mode.");
  try {
    if (s.mode != "standalone") {
      throw StartupError("Cannot start dsiem: mode " + s.mode + " is not available in this build");
    }
    return run_standalone(s, base, signals);
  } catch (const StartupError& e) {
    log::error(e.what());
    log::flush();
    std::cerr << e.what() << std::endl;
    return 1;
  }
}

int validate(const cli::Settings& s) {
  log::setup(s.debug);
  const auto configs = cli::base_dir(s.dev) / "configs";
  config::DirectiveSet set;
  try {
    set = config::load_directives(configs, s.file_pattern);
  } catch (const config::ConfigError& e) {
    std::cout << "Error occur: " << e.what() << std::endl;
    return 1;
  }
  if (set.directives.empty()) {
    std::cout << "Error occur: no directive loaded from the file" << std::endl;
    return 1;
  }
  log::flush();
  std::cout << "found " << set.directives.size() << " valid entries out of " << set.total
            << " directive(s) in configs/" << s.file_pattern << std::endl;
  return 0;
}

}  // namespace dsiem::node
