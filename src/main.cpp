#include <iostream>

#include "dsiem/cli/cli.h"
#include "dsiem/node/serve.h"
#include "dsiem/tools/bench.h"
#include "dsiem/tools/ossimcnv.h"

int main(int argc, char** argv) {
  dsiem::cli::Commands commands;
  commands.serve = dsiem::node::serve;
  commands.validate = dsiem::node::validate;
  commands.tools["bench"] = dsiem::tools::run_bench;
  commands.tools["ossimcnv"] = dsiem::tools::run_ossimcnv;
  return dsiem::cli::run(argc, argv, commands, std::cout, std::cerr);
}
