# The module graph. Each module lists every module and library its sources use
# directly (#include), not only those that a dependency happens to bring along:
# this file is the architecture, keep it honest. Threads::Threads is listed
# where a module starts threads of its own.
tb_module(core    DEPS spdlog::spdlog Boost::headers Boost::json)
tb_module(config  DEPS tb_core tb_age)
tb_module(metrics DEPS tb_core spdlog::spdlog)
tb_module(http    DEPS tb_core tb_metrics Boost::headers Boost::url Boost::json spdlog::spdlog Threads::Threads)
tb_module(db      DEPS tb_core PostgreSQL::PostgreSQL Boost::json spdlog::spdlog)
tb_module(store   DEPS tb_core tb_db tb_model Boost::json)
tb_module(jobs    DEPS tb_core tb_db tb_store tb_model spdlog::spdlog Threads::Threads)
# web: the UI's files under web/, compiled in (cmake/embed_assets.cmake).
tb_module(web)
include(cmake/embed_assets.cmake)
tb_embed_assets(tb_web ${PROJECT_SOURCE_DIR}/web)
tb_module(model   DEPS tb_core tb_age Boost::json)
tb_module(io      DEPS tb_core PkgConfig::ZSTD PkgConfig::DEFLATE ZLIB::ZLIB OpenSSL::Crypto Threads::Threads)
# age: age v1 files (X25519 recipients) as io filters, keys and identity files (OpenSSL 3).
tb_module(age     DEPS tb_core tb_io OpenSSL::Crypto)
tb_module(process DEPS tb_core Threads::Threads)
# s3: an S3 client (libcurl SigV4, pugixml for the XML replies) for the s3 destination.
pkg_check_modules(PUGIXML REQUIRED IMPORTED_TARGET pugixml)
tb_module(s3      DEPS tb_core CURL::libcurl OpenSSL::Crypto PkgConfig::PUGIXML Boost::url Boost::json Threads::Threads)
tb_module(destinations DEPS tb_core tb_s3 Boost::json)
tb_module(backup  DEPS tb_core tb_age tb_model tb_archive tb_db tb_io tb_process tb_destinations Boost::json OpenSSL::Crypto
                       PostgreSQL::PostgreSQL spdlog::spdlog Threads::Threads)
# archive: pg_dump's archive table of contents (read, cut per schema, written back) and ustar output (libarchive).
find_package(LibArchive REQUIRED)
tb_module(archive DEPS tb_core tb_io LibArchive::LibArchive)
# fleet: many tenant schemas dumped by one pg_dump, each tenant's standalone archive cut from it.
tb_module(fleet   DEPS tb_core tb_archive tb_backup tb_db tb_io tb_process)
tb_module(auth    DEPS tb_core tb_config OpenSSL::Crypto Boost::json)
tb_module(notify  DEPS tb_core CURL::libcurl)
# telegram: the Bot API client and backups as parts in a chat (libcurl).
tb_module(telegram DEPS tb_core tb_io CURL::libcurl Boost::json spdlog::spdlog)
tb_module(workflows DEPS tb_core tb_age tb_db tb_store tb_model tb_jobs tb_backup tb_fleet tb_destinations tb_notify tb_io
                         tb_telegram tb_s3 tb_metrics Boost::json spdlog::spdlog)
# schedule: the scheduler (leader lock, one job per slot), periodic loops, lifecycle gauges.
tb_module(schedule DEPS tb_core tb_db tb_store tb_model tb_metrics Boost::json spdlog::spdlog Threads::Threads)
tb_module(api     DEPS tb_core tb_age tb_config tb_db tb_http tb_auth tb_store tb_model tb_web tb_workflows
                       tb_destinations tb_s3 tb_metrics Boost::json spdlog::spdlog)
tb_module(app     DEPS tb_core tb_age tb_config tb_db tb_store tb_model tb_metrics tb_api tb_workflows tb_schedule
                       tb_jobs tb_auth tb_http Boost::json CLI11::CLI11 spdlog::spdlog Threads::Threads)
