// The job types' options (workflows::Options), taken from the configuration
// once when a process starts.
#pragma once

#include "config/config.hpp"
#include "workflows/options.hpp"

namespace tb::app {

workflows::Options workflow_options(const config::Config& config);

}  // namespace tb::app
