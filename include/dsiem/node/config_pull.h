#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dsiem::node {

// Whether a backend named `node` pulls the config file `name` (cluster.md §3): assets_*,
// intel_*, vuln_* and directives_<node>_* (a prefix test on the node name as given).
bool wanted_by_backend(const std::string& name, const std::string& node);

// The backend's start-up pull (cluster.md §3, decisions.md §2): lists <frontend>/config/,
// downloads every wanted file (3 tries 1 s apart, 10 s timeout each, non-2xx is a failure) to a
// temporary name and renames it into `configs_dir`. Returns the names written. Throws
// std::runtime_error("<url>: <reason>") when the list or any wanted file cannot be had.
std::vector<std::string> pull_configs(const std::string& frontend, const std::string& node,
                                      const std::filesystem::path& configs_dir);

}  // namespace dsiem::node
