#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/http/router.h"
#include "dsiem/http/types.h"

// `dsiem nesd serve` (tools.md §3): loads Nessus CSV exports and answers the vulnerability
// lookups of the engine's Nesd vuln plugin with `GET /?ip=<ip>&port=<port>`.
namespace dsiem::tools {

// One row of a Nessus CSV export (the columns nesd reads, tools.md §3.2).
struct NessusEntry {
  int64_t plugin_id = 0;
  std::string cve;
  double cvss = 0;
  std::string risk;
  std::string host;
  std::string protocol;
  int64_t port = 0;
  std::string name;
};

// A CSV that cannot be loaded; what() is the reference tool's wording, e.g.
// `record on line 3: wrong number of fields`.
class NessusCsvError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every row of every loaded file, in file order and then row order (duplicates kept).
struct NessusIndex {
  std::vector<NessusEntry> entries;

  // The rows whose Host equals `host` verbatim and whose Port equals `port`, in list order.
  std::vector<const NessusEntry*> find(std::string_view host, int64_t port) const;
};

// Parses one Nessus CSV export: RFC 4180 quoting with Go encoding/csv's strict rules and error
// texts, columns matched by header name, integers read as decimal (decisions.md §10). A header
// without rows gives no entries. Throws NessusCsvError.
std::vector<NessusEntry> parse_nessus_csv(std::string_view text);

// Loads `<csv_dir>/nessus_*.csv` in lexicographic order; files that cannot be read are skipped.
// Throws NessusCsvError on a malformed file or when no row was loaded at all.
NessusIndex load_nessus_dir(const std::filesystem::path& csv_dir);

// The answer to `GET /` with the raw query string `query` (tools.md §3.3 steps 1-6): 400, 418,
// or 200 with `no vulnerability found\n` or the matching rows as indented JSON.
http::Response answer_nesd_query(const NessusIndex& index, std::string_view query);

// A router serving answer_nesd_query on `GET /`.
std::shared_ptr<const http::Router> make_nesd_router(std::shared_ptr<const NessusIndex> index);

// `dsiem nesd ...`: `args` is what follows `nesd`. Returns the process exit code.
int run_nesd(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace dsiem::tools
