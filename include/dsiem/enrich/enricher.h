#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dsiem/alarm/alarm.h"
#include "dsiem/alarm/record_sink.h"
#include "dsiem/common/clock.h"
#include "dsiem/config/lookup_sources.h"

// Threat-intel and vulnerability enrichment of alarms (assets_and_intel.md §5-§7, alarms.md §3).
// The engine hands a LookupJob to the Enricher at every upsert that requests lookups; worker
// threads run the lookups (never the correlation threads), add what they find to the live
// alarm's AlarmFindings, and write the snapshot record.
namespace dsiem::enrich {

// The intel hits and vulnerabilities of one live alarm. Shared by the engine (which reads them
// for every record it writes) and the lookup workers (which add to them).
class AlarmFindings {
 public:
  // Copies of the current lists.
  std::vector<alarm::LookupResult> intel_hits() const;
  std::vector<alarm::LookupResult> vulnerabilities() const;
  bool has_intel_term(std::string_view term) const;
  bool has_vulnerability_term(std::string_view term) const;
  // Appends every result (an answer's repeats included); returns how many.
  std::size_t add_intel_hits(const std::vector<alarm::LookupResult>& results);
  std::size_t add_vulnerabilities(const std::vector<alarm::LookupResult>& results);
  // Appends the `"intel_hits":[..]` / `"vulnerabilities":[..]` members (each with a leading
  // comma, each omitted when empty), as the alarm record places them after dst_ips.
  void append_json(std::string& out) const;

 private:
  mutable std::mutex mutex_;
  std::vector<alarm::LookupResult> intel_hits_;
  std::vector<alarm::LookupResult> vulnerabilities_;
};

// One (ip, port) vulnerability term, the port as written (it may be non-numeric, e.g. " 443";
// such terms are skipped at lookup time, assets_and_intel.md §6.1 step 3).
struct VulnTerm {
  std::string ip;
  std::string port;
  bool operator==(const VulnTerm&) const = default;
};

// The resolved address/port values of one alarm rule, for vuln_terms().
struct RuleAddresses {
  std::string from, to, port_from, port_to;
};

// The (ip, port) terms of assets_and_intel.md §6.1 steps 1-2, deduplicated, first kept.
// `last_src_port` / `last_dst_port` are those of the backlog's last appended event.
std::vector<VulnTerm> vuln_terms(const std::vector<RuleAddresses>& rules, int64_t last_src_port,
                                 int64_t last_dst_port);

// Everything a lookup needs, captured on the correlation thread at upsert time.
struct LookupJob {
  // Identifies the alarm: jobs of one alarm run one after another, in submission order.
  std::string alarm_id;
  std::shared_ptr<AlarmFindings> findings;  // the live alarm's
  // The snapshot record (alarms.md §3.2), present only when the alarm's risk was >= 1: the
  // record text without intel_hits/vulnerabilities, and where they go. The snapshot omits
  // custom_data, i.e. the bytes [findings_at, networks_at).
  std::optional<std::string> record;
  std::size_t findings_at = 0;
  std::size_t networks_at = 0;
  // Candidate IPs: unique src_ips ∪ dst_ips of the alarm (§5.1 step 2).
  std::vector<std::string> ips;
  // Vulnerability terms (§6.1), from vuln_terms().
  std::vector<VulnTerm> vuln_terms;
};

struct EnricherOptions {
  bool intel_private_ip = false;            // --intelPrivateIP
  std::chrono::minutes cache_ttl{10};       // --cacheDuration (0 → 10)
  std::chrono::milliseconds timeout{5000};  // per checker call
  std::size_t workers = 4;                  // lookups in flight at most
  std::size_t max_pending = 10000;          // queued jobs beyond which new ones are dropped
};

// Monotonic counts, for /debug/vars and tests.
struct EnricherStats {
  uint64_t jobs_submitted = 0;
  uint64_t jobs_dropped = 0;  // queue full
  uint64_t lookups = 0;       // checker calls made (cache misses)
  uint64_t cache_hits = 0;
  uint64_t failures = 0;  // checker errors (timeouts, non-2xx, malformed answers)
  uint64_t snapshots_written = 0;
};

class Enricher {
 public:
  // Builds one checker per source (decisions.md §4). Records are written to `sink`.
  Enricher(std::vector<config::LookupSource> intel_sources,
           std::vector<config::LookupSource> vuln_sources, EnricherOptions options,
           const Clock& clock, alarm::RecordSink& sink);
  ~Enricher();  // stop()
  Enricher(const Enricher&) = delete;
  Enricher& operator=(const Enricher&) = delete;

  bool intel_enabled() const;
  bool vuln_enabled() const;
  bool enabled() const { return intel_enabled() || vuln_enabled(); }

  // Never blocks: queues the job (or drops it, counted and logged, when max_pending are queued).
  void submit(LookupJob job);
  // Waits until every queued job has finished (for tests and orderly shutdown).
  void wait_idle();
  // Finishes running lookups, discards queued ones, joins the workers. Idempotent.
  void stop();
  EnricherStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsiem::enrich
