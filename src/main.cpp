#include <iostream>

#include "dsiem/cli/cli.h"
#include "dsiem/node/serve.h"
#include "dsiem/tools/bench.h"
#include "dsiem/tools/dpluger.h"
#include "dsiem/tools/dtester.h"
#include "dsiem/tools/nesd.h"
#include "dsiem/tools/ossimcnv.h"

int main(int argc, char** argv) {
  dsiem::cli::Commands commands;
  commands.serve = dsiem::node::serve;
  commands.validate = dsiem::node::validate;
  commands.tools["bench"] = dsiem::tools::run_bench;
  commands.tools["dtester"] = [](const std::vector<std::string>& args, std::ostream& out,
                                 std::ostream& err) {
    return dsiem::tools::run_dtester(args, out, err);
  };
  commands.tools["ossimcnv"] = dsiem::tools::run_ossimcnv;
  commands.tools["nesd"] = dsiem::tools::run_nesd;
  commands.tools["dpluger"] = dsiem::tools::run_dpluger;
  return dsiem::cli::run(argc, argv, commands, std::cout, std::cerr);
}
