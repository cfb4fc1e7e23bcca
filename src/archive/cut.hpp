// One schema's archive cut out of a pg_dump archive of many schemas.
//
// A fleet run dumps a batch of tenant schemas together; each tenant still gets
// a standalone archive: the batch's header, its own entries in the batch's
// order, and the data files they name. pg_restore then prints exactly what
// `pg_dump -n <schema>` prints (the integration test compares them byte for
// byte), CREATE SCHEMA included.
//
// Which entries are the schema's: those in its namespace; its SCHEMA entry;
// the entries without a namespace that depend on that SCHEMA entry (its
// COMMENT, ACL, SECURITY LABEL). Entries without a namespace that depend on no
// SCHEMA entry are the archive's own (ENCODING, STDSTRINGS, SEARCHPATH,
// DATABASE and its COMMENT/PROPERTIES): every cut keeps them. Nothing of
// another schema is kept. Dependencies on entries left out stay as they are:
// pg_restore ignores ids it does not have, as it does for `pg_restore -L`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "archive/toc.hpp"

namespace tb::archive {

Toc cut_schema(const Toc& batch, std::string_view schema);

// The data files an archive's entries name, in its order (the order pg_restore
// reads a tar archive's members in).
std::vector<std::string> data_files(const Toc& toc);

// The schemas a batch holds (its SCHEMA entries), in its order.
std::vector<std::string> schemas_of(const Toc& toc);

}  // namespace tb::archive
