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
#include "dsiem/bus/event_publisher.h"
#include "dsiem/bus/nats_connection.h"
#include "dsiem/cli/go_values.h"
#include "dsiem/common/clock.h"
#include "dsiem/common/log.h"
#include "dsiem/common/text.h"
#include "dsiem/config/assets.h"
#include "dsiem/config/directive.h"
#include "dsiem/config/lookup_sources.h"
#include "dsiem/correlate/pipeline.h"
#include "dsiem/enrich/enricher.h"
#include "dsiem/event/event_pool.h"
#include "dsiem/http/config_routes.h"
#include "dsiem/http/server.h"
#include "dsiem/http/static_files.h"
#include "dsiem/node/config_pull.h"
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

// Correlation threads: DSIEM_SHARDS (1-64) when set, else one per core up to two cores (a
// second shard pays off even when it shares the cores with HTTP, see docs/performance.md),
// one per core beyond the first from three cores on, at most 8.
std::size_t correlation_shards() {
  if (const char* v = std::getenv("DSIEM_SHARDS"); v && *v) {
    const auto n = cli::parse_go_int(v);
    if (!n || *n < 1 || *n > 64) {
      throw StartupError(std::string("DSIEM_SHARDS must be an integer from 1 to 64, got ") + v);
    }
    return static_cast<std::size_t>(*n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw <= 2 ? std::max(hw, 1u) : std::min<unsigned>(hw - 1, 8);
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

// The correlating half shared by standalone and cluster-backend nodes: assets, directives, the
// output files and the sharded pipeline (overview.md §6 step 9).
struct Correlator {
  std::shared_ptr<const config::Assets> assets;
  std::unique_ptr<alarm::FileWriter> writer;
  std::unique_ptr<enrich::Enricher> enricher;
  std::unique_ptr<correlate::Pipeline> pipeline;

  // Queues the events for correlation, all or none, except those whose source is whitelisted
  // (dropped, as accepted).
  bool push(const event::ChunkPtr& chunk) {
    const auto whitelisted = [this](const event::Event* e) {
      return assets->is_whitelisted(e->src_ip);
    };
    const auto& events = chunk->events;
    if (std::none_of(events.begin(), events.end(), whitelisted)) return pipeline->push(chunk);
    auto kept = std::make_shared<event::EventChunk>();
    kept->owner = chunk->owner;
    for (const event::Event* e : events) {
      if (whitelisted(e)) {
        log::debug("Skipping event, Source IP " + e->src_ip + " is whitelisted.");
      } else {
        kept->events.push_back(e);
      }
    }
    return pipeline->push(std::move(kept));
  }
  void stop() {
    if (pipeline) pipeline->stop();
    // Lookups already running finish (their snapshots are written); queued ones are dropped.
    if (enricher) enricher->stop();
    if (writer) writer->stop();
  }
};

Correlator start_correlator(const cli::Settings& s, const std::filesystem::path& base,
                            const Clock& clock, correlate::OverloadSignal on_overload) {
  const auto configs = base / "configs";
  Correlator c;
  std::vector<config::Directive> directives;
  std::vector<config::LookupSource> intel_sources, vuln_sources;
  try {
    c.assets = std::make_shared<const config::Assets>(config::Assets::load(configs));
    intel_sources = config::load_lookup_sources(configs, config::LookupKind::kIntel);
    vuln_sources = config::load_lookup_sources(configs, config::LookupKind::kVuln);
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
  } catch (const config::ConfigError& e) {
    throw StartupError(e.what());
  }
  try {
    c.writer = std::make_unique<alarm::FileWriter>(base / "logs");
  } catch (const std::exception& e) {
    throw StartupError(std::string("Cannot initialize alarm: ") + e.what());
  }
  enrich::EnricherOptions eopts;
  eopts.intel_private_ip = s.intel_private_ip;
  eopts.cache_ttl = std::chrono::minutes(s.cache_duration > 0 ? s.cache_duration : 10);
  c.enricher = std::make_unique<enrich::Enricher>(std::move(intel_sources), std::move(vuln_sources),
                                                  eopts, clock, *c.writer);
  correlate::Pipeline::Options popts;
  popts.shards = correlation_shards();
  popts.capacity = s.max_queue > 0 ? static_cast<std::size_t>(s.max_queue) * 2 : 0;
  popts.engine.min_alarm_lifetime_minutes = s.min_alarm_lifetime;
  popts.engine.max_delay_seconds = s.max_delay;
  popts.engine.alarm.status = s.status.front();
  popts.engine.alarm.tag = s.tags.front();
  popts.engine.alarm.med_risk_min = s.med_risk_min;
  popts.engine.alarm.med_risk_max = s.med_risk_max;
  popts.engine.enricher = c.enricher.get();
  // Outputs exist before the first event can arrive (gaps A10).
  c.pipeline = std::make_unique<correlate::Pipeline>(std::move(directives), c.assets, clock,
                                                     *c.writer, popts, std::move(on_overload));
  return c;
}

// Starts the HTTP server; a bind failure is a start-up error.
std::unique_ptr<http::Server> start_server(const cli::Settings& s,
                                           std::shared_ptr<const http::Router> router) {
  http::ServerOptions sopts;
  sopts.address = s.address;
  sopts.port = static_cast<uint16_t>(s.port);
  sopts.threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  auto server = std::make_unique<http::Server>(sopts, std::move(router));
  try {
    server->start();
  } catch (const std::exception& e) {
    throw StartupError(std::string("Cannot start server: ") + e.what());
  }
  log::info("Server listening on " + s.address + ":" + std::to_string(server->port()));
  return server;
}

// Blocks until SIGINT or SIGTERM; SIGHUP reopens the output files.
void wait_for_stop(const sigset_t& signals, alarm::FileWriter* writer) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      if (writer) writer->reopen();
      continue;
    }
    log::info(std::string("Received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
    return;
  }
}

// The routes every mode serves besides its own.
void add_common_routes(http::Router& router, const cli::Settings& s,
                       const std::filesystem::path& base,
                       std::shared_ptr<const ops::Counters> counters, std::function<bool()> ready) {
  http::add_config_routes(router, base / "configs", s.writeable_config);
  ops::add_debug_vars_route(router, std::move(counters));
  ops::add_health_routes(router, std::move(ready));
}

int run_standalone(const cli::Settings& s, const std::filesystem::path& base,
                   const sigset_t& signals) {
  const Clock& clock = SystemClock::instance();
  OverloadFlag flag;
  OverloadHysteresis hysteresis(s.hold_duration, clock, [&flag](bool v) { flag.receive(v); });
  Correlator core = start_correlator(s, base, clock, [&hysteresis] { hysteresis.report(); });
  hysteresis.start();
  EpsLimiter limiter(s.max_eps, s.min_eps, clock);

  std::atomic<bool> accepting{true};
  EventIngest ingest(
      clock, limiter,
      [&core](const event::ChunkPtr& events) {
        return core.push(events) ? HandOver::kAccepted : HandOver::kFull;
      },
      [&accepting] { return accepting.load(); });

  auto counters = std::make_shared<ops::Counters>();
  auto router = std::make_shared<http::Router>();
  ingest.add_routes(*router);
  http::add_static_route(*router, "/ui/", base / "web" / "dist");
  add_common_routes(*router, s, base, counters, [&accepting] { return accepting.load(); });
  std::unique_ptr<http::Server> server;
  try {
    server = start_server(s, router);
  } catch (...) {
    core.stop();
    throw;
  }
  {
    Housekeeping housekeeping(
        {&hysteresis, &limiter, &flag, &ingest, core.pipeline.get(), counters.get()});
    wait_for_stop(signals, core.writer.get());
    // Graceful stop (decisions.md §5): refuse new events, drain accepted ones, flush outputs.
    accepting.store(false);
    ingest.stop();
    server->stop();
  }
  core.stop();
  return 0;
}

// Reads an overload signal payload: the JSON booleans true / false.
std::optional<bool> parse_overload(std::string_view payload) {
  const std::string text = trim_space(payload);
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

int run_frontend(const cli::Settings& s, const std::filesystem::path& base,
                 const sigset_t& signals) {
  const Clock& clock = SystemClock::instance();
  std::unique_ptr<bus::NatsConnection> nats;
  try {
    nats = std::make_unique<bus::NatsConnection>(s.msq);
  } catch (const std::exception& e) {
    throw StartupError(std::string("Cannot start dsiem: ") + e.what());
  }
  OverloadFlag flag;
  nats->subscribe(bus::kOverloadSubject, [&flag](std::string_view payload) {
    if (auto v = parse_overload(payload)) {
      flag.receive(*v);
    } else {
      log::warn("ignoring overload signal that is not a JSON boolean: " + std::string(payload));
    }
  });
  EpsLimiter limiter(s.max_eps, s.min_eps, clock);
  bus::EventPublisher publisher(*nats);
  std::atomic<bool> accepting{true};
  // decisions.md §3: the port opens at once; events are refused (503) until NATS is connected.
  auto ready = [&accepting, &nats] { return accepting.load() && nats->connected(); };
  EventIngest ingest(
      clock, limiter,
      [&publisher](const event::ChunkPtr& chunk) {
        // The publisher buffers events one by one: each keeps the chunk's owner alive.
        std::vector<correlate::EventPtr> events;
        events.reserve(chunk->events.size());
        for (const event::Event* e : chunk->events) events.emplace_back(chunk->owner, e);
        switch (publisher.offer(events)) {
          case bus::EventPublisher::Offer::kQueued:
            return HandOver::kAccepted;
          case bus::EventPublisher::Offer::kFull:
            return HandOver::kFull;
          case bus::EventPublisher::Offer::kUnavailable:
            break;
        }
        return HandOver::kUnavailable;
      },
      ready);

  auto counters = std::make_shared<ops::Counters>();
  auto router = std::make_shared<http::Router>();
  ingest.add_routes(*router);
  http::add_static_route(*router, "/ui/", base / "web" / "dist");
  add_common_routes(*router, s, base, counters, ready);
  auto server = start_server(s, router);
  {
    Housekeeping housekeeping({nullptr, &limiter, &flag, &ingest, nullptr, counters.get()});
    wait_for_stop(signals, nullptr);
    accepting.store(false);
    ingest.stop();
    server->stop();
  }
  publisher.stop();
  return 0;
}

int run_backend(const cli::Settings& s, const std::filesystem::path& base,
                const sigset_t& signals) {
  const Clock& clock = SystemClock::instance();
  // Before the NATS connection, whose subscription decodes into it, so it outlives it.
  event::EventPool pool;
  try {
    const auto files = pull_configs(s.frontend, s.node, base / "configs");
    log::info("Pulled " + std::to_string(files.size()) + " config files from " + s.frontend);
  } catch (const std::exception& e) {
    throw StartupError(std::string("Cannot start backend worker process: ") + e.what());
  }
  std::unique_ptr<bus::NatsConnection> nats;
  try {
    nats = std::make_unique<bus::NatsConnection>(s.msq);
  } catch (const std::exception& e) {
    throw StartupError(std::string("Cannot start backend worker process: ") + e.what());
  }
  OverloadHysteresis hysteresis(s.hold_duration, clock, [&nats](bool v) {
    const std::string err = nats->publish(bus::kOverloadSubject, v ? "true" : "false");
    if (!err.empty()) log::warn("cannot publish overload signal: " + err);
  });
  Correlator core = start_correlator(s, base, clock, [&hysteresis] { hysteresis.report(); });
  hysteresis.start();

  std::atomic<bool> stopping{false};
  std::atomic<bool> subscribed{false};
  std::atomic<uint64_t> undecodable{0};
  nats->subscribe(bus::kEventsSubject, [&](std::string_view payload) {
    auto batch = pool.acquire(1);
    event::Event& decoded = batch->events.front();
    std::string error;
    if (!event::decode(payload, decoded, &error)) {
      undecodable.fetch_add(1);
      log::warn("discarding undecodable event from NATS: " + error);
      return;
    }
    const event::ChunkPtr events = event::make_chunk(std::move(batch), decoded);
    // Back-pressure: hold the subscription while the pipeline is full; the client buffers.
    while (!core.push(events)) {
      if (stopping.load()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  subscribed.store(true);
  auto ready = [&] { return subscribed.load() && !stopping.load() && nats->connected(); };

  auto counters = std::make_shared<ops::Counters>();
  auto router = std::make_shared<http::Router>();
  add_common_routes(*router, s, base, counters, ready);
  std::unique_ptr<http::Server> server;
  try {
    server = start_server(s, router);
  } catch (...) {
    stopping.store(true);
    nats.reset();
    core.stop();
    throw;
  }
  {
    Housekeeping housekeeping(
        {&hysteresis, nullptr, nullptr, nullptr, core.pipeline.get(), counters.get()});
    wait_for_stop(signals, core.writer.get());
    stopping.store(true);
    nats.reset();  // no more events; what was queued is still correlated below
    server->stop();
  }
  core.stop();
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
    int code = 0;
    if (s.mode == "cluster-frontend") {
      code = run_frontend(s, base, signals);
      bus::shutdown_client_library();
    } else if (s.mode == "cluster-backend") {
      code = run_backend(s, base, signals);
      bus::shutdown_client_library();
    } else {
      code = run_standalone(s, base, signals);
    }
    log::info("dsiem stopped");
    log::flush();
    return code;
  } catch (const StartupError& e) {
    if (s.mode != "standalone") bus::shutdown_client_library();
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
