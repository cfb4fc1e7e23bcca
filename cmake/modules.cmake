# The module graph. A module may use only the modules in its DEPS (and theirs):
# this file is the architecture, keep it honest.
tb_module(core    DEPS spdlog::spdlog Boost::json Threads::Threads)
tb_module(config  DEPS tb_core)
tb_module(metrics DEPS tb_core)
tb_module(http    DEPS tb_core tb_metrics Boost::headers Boost::url Boost::json)
tb_module(db      DEPS tb_core PostgreSQL::PostgreSQL Boost::json)
# web: the UI's files under web/, compiled in (cmake/embed_assets.cmake).
tb_module(web)
include(cmake/embed_assets.cmake)
tb_embed_assets(tb_web ${PROJECT_SOURCE_DIR}/web)
tb_module(model   DEPS tb_core Boost::json)
tb_module(io      DEPS tb_core PkgConfig::ZSTD PkgConfig::DEFLATE ZLIB::ZLIB OpenSSL::Crypto)
tb_module(process DEPS tb_core)
tb_module(destinations DEPS tb_io Boost::json)
tb_module(app     DEPS tb_config CLI11::CLI11)
tb_module(auth    DEPS tb_core tb_config OpenSSL::Crypto Boost::json)
tb_module(notify  DEPS tb_core CURL::libcurl)
