// The table of contents of a pg_dump archive (`toc.dat` of the directory and
// tar formats), read and written back.
//
// Why we read pg_dump's own archive: a fleet run dumps many tenant schemas at
// once (one catalog read, one snapshot) in the directory format, then cuts
// each tenant's entries out of that table of contents. A tenant's archive is
// the same header, the entries of its schema and their data files: pg_restore
// prints exactly what `pg_dump -n` of that schema alone prints. Cutting the
// plain-text output instead is unsafe: a tenant's function body can contain
// lines that look like another object's header.
//
// Layout (pg_backup_archiver.c, WriteHead/WriteToc, archive version 1.14 =
// pg_dump 12 to 15): "PGDMP", version major/minor/revision, int size, offset
// size and format bytes, the compression as an int, the creation time as 7
// ints, the database name, server and pg_dump version strings; then the entry
// count and every entry. An int is a sign byte and `int size` bytes, least
// significant first; a string is an int length (-1: NULL) and its bytes.
// Versions other than 1.14 are refused (their layouts differ: 1.15 stores the
// compression algorithm as a byte), so a newer pg_dump fails loudly instead of
// producing a wrong archive.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tb::archive {

struct TocHeader {
  std::uint8_t version_major = 1, version_minor = 14, version_revision = 0;
  std::uint8_t int_size = 4, offset_size = 8, format = 3;
  std::int64_t compression = 0;
  std::int64_t created[7] = {};  // struct tm: sec, min, hour, mday, mon, year, isdst
  std::optional<std::string> database, server_version, dump_version;
};

struct TocEntry {
  std::int64_t dump_id = 0;
  bool has_data = false;  // a data dumper ran: `file` names its data
  std::optional<std::string> table_oid, oid;
  std::optional<std::string> tag;   // the object's name, e.g. "orders" or "SCHEMA tenant_a"
  std::optional<std::string> desc;  // "TABLE", "TABLE DATA", "SCHEMA", "ACL", ...
  std::int64_t section = 0;         // 1 none, 2 pre-data, 3 data, 4 post-data
  std::optional<std::string> definition, drop_statement, copy_statement;
  std::optional<std::string> schema;  // the namespace; NULL for global entries
  std::optional<std::string> tablespace, table_access_method, owner, with_oids;
  std::vector<std::string> dependencies;  // dump ids, as written
  std::optional<std::string> file;        // data file name ("3741.dat"); "" or NULL: none
};

struct Toc {
  TocHeader header;
  std::vector<TocEntry> entries;
};

// Throws tb::Error (kInternal, detail naming the offset) on anything that is
// not a complete version 1.14 table of contents.
Toc read_toc(std::string_view bytes);
std::string write_toc(const Toc& toc);

}  // namespace tb::archive
