#include <iostream>

#include "dsiem/cli/cli.h"
#include "dsiem/node/serve.h"

int main(int argc, char** argv) {
  dsiem::cli::Commands commands;
  commands.serve = dsiem::node::serve;
  commands.validate = dsiem::node::validate;
  return dsiem::cli::run(argc, argv, commands, std::cout, std::cerr);
}
