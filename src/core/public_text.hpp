// What a tenant may read of an error: job errors are shown to project owners
// (GET /api/jobs/{id}, the UI, notice e-mails), and texts from libpq, psql,
// pg_dump and the operating system name the service's hosts, ports, roles,
// databases and files. Those stay in the log; the public text keeps the rest.
#pragma once

#include <string>
#include <string_view>

namespace tb {

// `text` with every internal name replaced by "[hidden]":
//  - quoted names after server at / host / host name / socket / role / user /
//    database / file / directory (`role "svc_backup"` -> `role "[hidden]"`),
//  - IPv4 addresses, IPv6 addresses in parentheses, `port <n>`,
//  - conninfo settings (host=, hostaddr=, port=, user=, dbname=, password=),
//  - absolute paths.
// Other quoted names (a table of the tenant's own schema, a pattern) stay.
std::string hide_internals(std::string_view text);

}  // namespace tb
