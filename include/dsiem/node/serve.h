#pragma once

#include "dsiem/cli/cli.h"

namespace dsiem::node {

// `dsiem serve`: runs the node in the mode the settings name, until SIGINT or SIGTERM.
// Returns the process exit code (0 after a graceful stop, 1 on a start-up error, whose message
// goes to stderr).
int serve(const cli::Settings& settings);

// `dsiem validate`: loads and validates the directive files (overview.md §3).
int validate(const cli::Settings& settings);

}  // namespace dsiem::node
