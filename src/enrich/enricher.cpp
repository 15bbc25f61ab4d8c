#include "dsiem/enrich/enricher.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <thread>
#include <unordered_map>

#include "dsiem/common/log.h"
#include "dsiem/enrich/checkers.h"
#include "dsiem/enrich/lookup_cache.h"
#include "dsiem/enrich/lookup_terms.h"

namespace dsiem::enrich {

namespace {

// Entries per lookup cache; beyond it the oldest answers are forgotten.
constexpr std::size_t kCacheMaxEntries = 100'000;
// At most one "queue full" WARN per this many seconds.
constexpr int64_t kDropLogIntervalNs = 10'000'000'000;

bool has_term(const std::vector<alarm::LookupResult>& list, std::string_view term) {
  return std::any_of(list.begin(), list.end(),
                     [&](const alarm::LookupResult& r) { return r.term == term; });
}

// Every element of an answer is kept, repeats included (assets_and_intel.md §5.3, §6.3); a term
// is never looked up twice for one alarm, so nothing is added twice across lookups.
std::size_t add_all(std::vector<alarm::LookupResult>& list,
                    const std::vector<alarm::LookupResult>& results) {
  list.insert(list.end(), results.begin(), results.end());
  return results.size();
}

// --cacheDuration 0 means the default of 10 minutes.
std::chrono::nanoseconds effective_ttl(std::chrono::minutes ttl) {
  return ttl.count() > 0 ? ttl : std::chrono::minutes(10);
}

template <typename T>
std::vector<T> unique_in_order(const std::vector<T>& items) {
  std::vector<T> out;
  for (const T& item : items) {
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return out;
}

}  // namespace

// ---- AlarmFindings ----

std::vector<alarm::LookupResult> AlarmFindings::intel_hits() const {
  std::lock_guard lock(mutex_);
  return intel_hits_;
}

std::vector<alarm::LookupResult> AlarmFindings::vulnerabilities() const {
  std::lock_guard lock(mutex_);
  return vulnerabilities_;
}

bool AlarmFindings::has_intel_term(std::string_view term) const {
  std::lock_guard lock(mutex_);
  return has_term(intel_hits_, term);
}

bool AlarmFindings::has_vulnerability_term(std::string_view term) const {
  std::lock_guard lock(mutex_);
  return has_term(vulnerabilities_, term);
}

std::size_t AlarmFindings::add_intel_hits(const std::vector<alarm::LookupResult>& results) {
  std::lock_guard lock(mutex_);
  return add_all(intel_hits_, results);
}

std::size_t AlarmFindings::add_vulnerabilities(const std::vector<alarm::LookupResult>& results) {
  std::lock_guard lock(mutex_);
  return add_all(vulnerabilities_, results);
}

void AlarmFindings::append_json(std::string& out) const {
  std::lock_guard lock(mutex_);
  alarm::append_lookup_results(out, "intel_hits", &intel_hits_);
  alarm::append_lookup_results(out, "vulnerabilities", &vulnerabilities_);
}

// ---- Enricher ----

struct Enricher::Impl {
  Impl(std::vector<config::LookupSource> intel_sources,
       std::vector<config::LookupSource> vuln_sources, EnricherOptions opts, const Clock& c,
       alarm::RecordSink& s);

  void worker_loop();
  void run_job(const LookupJob& job);
  std::size_t run_intel(const LookupJob& job);
  std::size_t run_vuln(const LookupJob& job);
  // The cached answer for `key`, else the collected answers of every checker (§5.2 / §6.2).
  template <typename Checker, typename Call>
  std::vector<alarm::LookupResult> lookup(LookupCache& cache, const std::string& key,
                                          const std::vector<std::unique_ptr<Checker>>& checkers,
                                          std::string_view kind, Call&& call);
  void write_snapshot(const LookupJob& job);

  EnricherOptions options;
  const Clock& clock;
  alarm::RecordSink& sink;
  std::vector<std::unique_ptr<IntelChecker>> intel_checkers;
  std::vector<std::unique_ptr<VulnChecker>> vuln_checkers;
  LookupCache intel_cache;
  LookupCache vuln_cache;

  // Jobs wait per alarm; an alarm is in `ready` when it has jobs and none of its jobs runs.
  struct AlarmQueue {
    std::deque<LookupJob> jobs;
    bool running = false;
  };
  std::mutex mutex;
  std::condition_variable work_cv;
  std::condition_variable idle_cv;
  std::unordered_map<std::string, AlarmQueue> queues;
  std::deque<std::string> ready;
  std::size_t queued = 0;
  std::size_t running = 0;
  int64_t last_drop_log_ns = 0;
  bool drop_logged = false;
  std::atomic<bool> stopping{false};
  std::vector<std::thread> workers;

  std::mutex sink_mutex;  // RecordSink does not promise thread safety

  std::atomic<uint64_t> jobs_submitted{0};
  std::atomic<uint64_t> jobs_dropped{0};
  std::atomic<uint64_t> lookups{0};
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> snapshots_written{0};
};

Enricher::Impl::Impl(std::vector<config::LookupSource> intel_sources,
                     std::vector<config::LookupSource> vuln_sources, EnricherOptions opts,
                     const Clock& c, alarm::RecordSink& s)
    : options(opts),
      clock(c),
      sink(s),
      intel_cache(c, effective_ttl(opts.cache_ttl), kCacheMaxEntries),
      vuln_cache(c, effective_ttl(opts.cache_ttl), kCacheMaxEntries) {
  for (const config::LookupSource& source : intel_sources) {
    if (auto checker = make_intel_checker(source, options.timeout)) {
      intel_checkers.push_back(std::move(checker));
    } else {
      log::warn("Cannot find intel plugin " + source.plugin);
    }
  }
  for (const config::LookupSource& source : vuln_sources) {
    if (auto checker = make_vuln_checker(source, options.timeout)) {
      vuln_checkers.push_back(std::move(checker));
    } else {
      log::warn("Cannot find vuln plugin " + source.plugin);
    }
  }
}

void Enricher::Impl::worker_loop() {
  std::unique_lock lock(mutex);
  for (;;) {
    work_cv.wait(lock, [&] { return stopping || !ready.empty(); });
    if (stopping) return;
    const std::string alarm_id = std::move(ready.front());
    ready.pop_front();
    AlarmQueue& queue = queues.at(alarm_id);  // references into the map survive rehashing
    LookupJob job = std::move(queue.jobs.front());
    queue.jobs.pop_front();
    queue.running = true;
    --queued;
    ++running;
    lock.unlock();

    run_job(job);

    lock.lock();
    --running;
    queue.running = false;
    if (queue.jobs.empty()) {
      queues.erase(alarm_id);
    } else {
      ready.push_back(alarm_id);
      work_cv.notify_one();
    }
    if (queued == 0 && running == 0) idle_cv.notify_all();
  }
}

void Enricher::Impl::run_job(const LookupJob& job) {
  if (!job.findings) return;
  if (!intel_checkers.empty() && run_intel(job) > 0) write_snapshot(job);
  if (!vuln_checkers.empty() && run_vuln(job) > 0) write_snapshot(job);
}

std::size_t Enricher::Impl::run_intel(const LookupJob& job) {
  std::size_t appended = 0;
  for (const std::string& ip : unique_in_order(job.ips)) {
    if (stopping) break;
    if (!is_intel_candidate(ip, options.intel_private_ip)) continue;
    if (job.findings->has_intel_term(ip)) continue;
    const auto results = lookup(intel_cache, ip, intel_checkers, "intel",
                                [&](const IntelChecker& checker) { return checker.check(ip); });
    if (results.empty()) continue;
    appended += job.findings->add_intel_hits(results);
    log::info("Found intel result for " + ip, {.backlog = job.alarm_id});
  }
  return appended;
}

std::size_t Enricher::Impl::run_vuln(const LookupJob& job) {
  std::size_t appended = 0;
  for (const VulnTerm& term : unique_in_order(job.vuln_terms)) {
    if (stopping) break;
    if (job.findings->has_vulnerability_term(term.ip + ":" + term.port)) continue;
    const std::optional<int64_t> port = parse_decimal_int(term.port);
    if (!port) continue;
    // Rule values can hold anything an event carried (":N" references); only addresses may
    // reach a URL (decisions.md §9).
    if (!IpAddress::parse(term.ip)) continue;
    const std::string key = term.ip + ":" + std::to_string(*port);
    const auto results =
        lookup(vuln_cache, key, vuln_checkers, "vuln",
               [&](const VulnChecker& checker) { return checker.check(term.ip, *port); });
    if (results.empty()) continue;
    appended += job.findings->add_vulnerabilities(results);
    log::info("found vulnerability for " + key, {.backlog = job.alarm_id});
  }
  return appended;
}

template <typename Checker, typename Call>
std::vector<alarm::LookupResult> Enricher::Impl::lookup(
    LookupCache& cache, const std::string& key,
    const std::vector<std::unique_ptr<Checker>>& checkers, std::string_view kind, Call&& call) {
  if (auto cached = cache.get(key)) {
    ++cache_hits;
    return std::move(*cached);
  }
  std::vector<alarm::LookupResult> results;
  bool any_succeeded = false;
  for (const auto& checker : checkers) {
    ++lookups;
    try {
      std::vector<alarm::LookupResult> found = call(*checker);
      any_succeeded = true;
      results.insert(results.end(), found.begin(), found.end());
    } catch (const std::exception& e) {
      ++failures;
      log::warn("Error received from " + std::string(kind) + " checker " + checker->plugin() +
                ": " + e.what());
    }
  }
  // With no answer at all, the next stage completion asks again.
  if (any_succeeded) cache.put(key, results);
  return results;
}

void Enricher::Impl::write_snapshot(const LookupJob& job) {
  if (!job.record) return;
  const std::string& record = *job.record;
  if (job.findings_at > job.networks_at || job.networks_at > record.size()) {
    log::error("Invalid snapshot record offsets for alarm " + job.alarm_id);
    return;
  }
  std::string line;
  line.reserve(record.size() + 256);
  line.append(record, 0, job.findings_at);
  job.findings->append_json(line);
  line.append(record, job.networks_at);
  {
    std::lock_guard lock(sink_mutex);
    sink.write_alarm(std::move(line));
  }
  ++snapshots_written;
}

Enricher::Enricher(std::vector<config::LookupSource> intel_sources,
                   std::vector<config::LookupSource> vuln_sources, EnricherOptions options,
                   const Clock& clock, alarm::RecordSink& sink)
    : impl_(std::make_unique<Impl>(std::move(intel_sources), std::move(vuln_sources), options,
                                   clock, sink)) {
  if (!enabled()) return;
  const std::size_t count = std::max<std::size_t>(options.workers, 1);
  for (std::size_t i = 0; i < count; ++i) {
    impl_->workers.emplace_back([impl = impl_.get()] { impl->worker_loop(); });
  }
}

Enricher::~Enricher() {
  stop();
}

bool Enricher::intel_enabled() const {
  return !impl_->intel_checkers.empty();
}

bool Enricher::vuln_enabled() const {
  return !impl_->vuln_checkers.empty();
}

void Enricher::submit(LookupJob job) {
  Impl& s = *impl_;
  ++s.jobs_submitted;
  if (!enabled()) return;
  bool log_drop = false;
  {
    std::lock_guard lock(s.mutex);
    if (s.stopping) return;
    if (s.queued >= s.options.max_pending) {
      ++s.jobs_dropped;
      const int64_t now = s.clock.now_ns();
      if (!s.drop_logged || now - s.last_drop_log_ns >= kDropLogIntervalNs) {
        s.drop_logged = true;
        s.last_drop_log_ns = now;
        log_drop = true;
      }
    } else {
      Impl::AlarmQueue& queue = s.queues[job.alarm_id];
      const std::string alarm_id = job.alarm_id;
      queue.jobs.push_back(std::move(job));
      ++s.queued;
      if (!queue.running && queue.jobs.size() == 1) {
        s.ready.push_back(alarm_id);
        s.work_cv.notify_one();
      }
      return;
    }
  }
  if (log_drop) {
    log::warn("Intel/vuln lookup queue is full (" + std::to_string(s.options.max_pending) +
                  " jobs), dropping the lookups of alarm " + job.alarm_id + "; " +
                  std::to_string(s.jobs_dropped.load()) + " dropped so far",
              {.backlog = job.alarm_id});
  }
}

void Enricher::wait_idle() {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  s.idle_cv.wait(lock, [&] { return s.queued == 0 && s.running == 0; });
}

void Enricher::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mutex);
    s.stopping = true;
    // Queued jobs are discarded; the running ones finish their current lookup.
    for (auto it = s.queues.begin(); it != s.queues.end();) {
      it->second.jobs.clear();
      it = it->second.running ? std::next(it) : s.queues.erase(it);
    }
    s.ready.clear();
    s.queued = 0;
    if (s.running == 0) s.idle_cv.notify_all();
  }
  s.work_cv.notify_all();
  for (std::thread& t : s.workers) {
    if (t.joinable()) t.join();
  }
}

EnricherStats Enricher::stats() const {
  const Impl& s = *impl_;
  EnricherStats out;
  out.jobs_submitted = s.jobs_submitted.load();
  out.jobs_dropped = s.jobs_dropped.load();
  out.lookups = s.lookups.load();
  out.cache_hits = s.cache_hits.load();
  out.failures = s.failures.load();
  out.snapshots_written = s.snapshots_written.load();
  return out;
}

}  // namespace dsiem::enrich
