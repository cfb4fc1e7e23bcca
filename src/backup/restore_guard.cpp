#include "backup/restore_guard.hpp"

#include "backup/export.hpp"

namespace tb::backup {
namespace {

std::string quote_ident(std::string_view s) {
  return exact_schema_pattern(s);
}

// One row per catalog object that a dump could create, change or drop:
// (cat, key, xmin, nsp, tmp, label). `nsp` is the schema the object belongs
// to (0 for global objects: roles, databases, languages, casts, ...), `tmp`
// whether that is a temp or toast schema (never a concern), `label` what the
// refusal message names. Only pg_catalog-qualified names: the dump may have
// changed search_path or planted look-alikes.
std::string catalog_snapshot_sql() {
  auto by_oid = [](std::string_view cat, std::string_view nsp_col, std::string_view name_col) {
    return "SELECT '" + std::string(cat) +
           "'::text AS cat, o.oid::text AS key, o.xmin::text AS xm, o." + std::string(nsp_col) +
           " AS nsp, o." + std::string(name_col) + "::text AS label FROM pg_catalog." +
           std::string(cat) + " o";
  };
  auto by_rel = [](std::string_view cat, std::string_view key, std::string_view rel_col) {
    return "SELECT '" + std::string(cat) + "', " + std::string(key) +
           ", o.xmin::text, c.relnamespace, c.relname::text FROM pg_catalog." + std::string(cat) +
           " o LEFT JOIN pg_catalog.pg_class c ON c.oid = o." + std::string(rel_col);
  };
  auto global = [](std::string_view cat, std::string_view key, std::string_view xmin) {
    return "SELECT '" + std::string(cat) + "', " + std::string(key) + ", " + std::string(xmin) +
           ", 0::oid, NULL::text FROM pg_catalog." + std::string(cat) + " o";
  };
  // Each entry is one query; the longer ones are split over several lines.
  // NOLINTBEGIN(bugprone-suspicious-missing-comma)
  std::vector<std::string> parts = {
      by_oid("pg_namespace", "oid", "nspname"),
      by_oid("pg_class", "relnamespace", "relname"),
      by_oid("pg_proc", "pronamespace", "proname"),
      by_oid("pg_type", "typnamespace", "typname"),
      by_oid("pg_constraint", "connamespace", "conname"),
      by_oid("pg_operator", "oprnamespace", "oprname"),
      by_oid("pg_collation", "collnamespace", "collname"),
      by_oid("pg_conversion", "connamespace", "conname"),
      by_oid("pg_opclass", "opcnamespace", "opcname"),
      by_oid("pg_opfamily", "opfnamespace", "opfname"),
      by_oid("pg_ts_config", "cfgnamespace", "cfgname"),
      by_oid("pg_ts_dict", "dictnamespace", "dictname"),
      by_oid("pg_ts_parser", "prsnamespace", "prsname"),
      by_oid("pg_ts_template", "tmplnamespace", "tmplname"),
      by_oid("pg_statistic_ext", "stxnamespace", "stxname"),
      by_oid("pg_extension", "extnamespace", "extname"),
      by_oid("pg_default_acl", "defaclnamespace", "defaclrole"),
      by_rel("pg_trigger", "o.oid::text", "tgrelid"),
      by_rel("pg_rewrite", "o.oid::text", "ev_class"),
      by_rel("pg_policy", "o.oid::text", "polrelid"),
      by_rel("pg_attrdef", "o.oid::text", "adrelid"),
      by_rel("pg_attribute", "o.attrelid::text || '.' || o.attnum::text", "attrelid"),
      by_rel("pg_index", "o.indexrelid::text", "indexrelid"),
      by_rel("pg_sequence", "o.seqrelid::text", "seqrelid"),
      "SELECT 'pg_enum', o.oid::text, o.xmin::text, t.typnamespace, t.typname::text FROM "
      "pg_catalog.pg_enum o "
      "LEFT JOIN pg_catalog.pg_type t ON t.oid = o.enumtypid",
      "SELECT 'pg_amop', o.oid::text, o.xmin::text, f.opfnamespace, f.opfname::text FROM "
      "pg_catalog.pg_amop o "
      "LEFT JOIN pg_catalog.pg_opfamily f ON f.oid = o.amopfamily",
      "SELECT 'pg_amproc', o.oid::text, o.xmin::text, f.opfnamespace, f.opfname::text FROM "
      "pg_catalog.pg_amproc o "
      "LEFT JOIN pg_catalog.pg_opfamily f ON f.oid = o.amprocfamily",
      // Comments: on objects of a schema count for that schema; others are global.
      "SELECT 'pg_description', o.objoid::text || '.' || o.classoid::text || '.' || "
      "o.objsubid::text, o.xmin::text, "
      "CASE o.classoid "
      "WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN (SELECT relnamespace FROM "
      "pg_catalog.pg_class WHERE oid = o.objoid) "
      "WHEN 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN o.objoid "
      "WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN (SELECT pronamespace FROM "
      "pg_catalog.pg_proc WHERE oid = o.objoid) "
      "WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN (SELECT typnamespace FROM "
      "pg_catalog.pg_type WHERE oid = o.objoid) "
      "WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT connamespace FROM "
      "pg_catalog.pg_constraint WHERE oid = o.objoid) "
      "WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM "
      "pg_catalog.pg_trigger t "
      "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid WHERE t.oid = o.objoid) "
      "WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM "
      "pg_catalog.pg_policy p "
      "JOIN pg_catalog.pg_class c ON c.oid = p.polrelid WHERE p.oid = o.objoid) "
      "ELSE 0::oid END, 'comment' FROM pg_catalog.pg_description o",
      // Global objects: any new, changed or dropped row is refused. Views
      // where the table needs superuser (roles, user mappings). A role's
      // "version" is a digest of its attributes (pg_roles hides xmin).
      "SELECT 'role', o.oid::text, pg_catalog.md5(ROW(o.rolname, o.rolsuper, o.rolinherit, "
      "o.rolcreaterole, "
      "o.rolcreatedb, o.rolcanlogin, o.rolreplication, o.rolbypassrls, o.rolconnlimit, "
      "o.rolconfig)::text), "
      "0::oid, o.rolname::text FROM pg_catalog.pg_roles o",
      "SELECT 'role membership', o.roleid::text || '.' || o.member::text, o.xmin::text, 0::oid, "
      "(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) "
      "o.member)::text || ' in ' || "
      "(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) "
      "o.roleid)::text "
      "FROM pg_catalog.pg_auth_members o",
      "SELECT 'user mapping', o.umid::text, '', 0::oid, NULL::text FROM "
      "pg_catalog.pg_user_mappings o",
      "SELECT 'pg_database', o.oid::text, o.xmin::text, 0::oid, o.datname::text FROM "
      "pg_catalog.pg_database o",
      global("pg_tablespace", "o.oid::text", "o.xmin::text"),
      global("pg_language", "o.oid::text", "o.xmin::text"),
      global("pg_cast", "o.oid::text", "o.xmin::text"),
      global("pg_event_trigger", "o.oid::text", "o.xmin::text"),
      global("pg_foreign_data_wrapper", "o.oid::text", "o.xmin::text"),
      global("pg_foreign_server", "o.oid::text", "o.xmin::text"),
      global("pg_publication", "o.oid::text", "o.xmin::text"),
      global("pg_largeobject_metadata", "o.oid::text", "o.xmin::text"),
      global("pg_am", "o.oid::text", "o.xmin::text"),
      global("pg_transform", "o.oid::text", "o.xmin::text"),
      global("pg_shdescription", "o.objoid::text || '.' || o.classoid::text", "o.xmin::text"),
      global("pg_db_role_setting", "o.setdatabase::text || '.' || o.setrole::text", "o.xmin::text"),
      global("pg_seclabel", "o.objoid::text || '.' || o.classoid::text || '.' || o.objsubid::text",
             "o.xmin::text"),
      global("pg_shseclabel", "o.objoid::text || '.' || o.classoid::text", "o.xmin::text"),
  };
  // NOLINTEND(bugprone-suspicious-missing-comma)
  std::string sql =
      "SELECT s.cat, s.key, s.xm, s.nsp, COALESCE(n.nspname ~ '^pg_(toast|temp_)', false) AS tmp, "
      "COALESCE(n.nspname || '.', '') || COALESCE(s.label, s.key) AS label FROM (";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) sql += "\nUNION ALL ";
    sql += parts[i];
  }
  return sql + ") s LEFT JOIN pg_catalog.pg_namespace n ON n.oid = s.nsp";
}

// Every guard query runs with this search_path: nothing the dump created can
// stand in for a catalog, function or operator.
constexpr std::string_view kPinnedSearchPath = "SET search_path = pg_catalog, pg_temp;\n";

// The digest of the "before" snapshot, as a psql query whose \gset keeps the
// value on the client, where the replayed SQL cannot change it.
std::string guard_digest_sql(const std::string& guard_table) {
  return "(SELECT pg_catalog.md5(pg_catalog.string_agg(g::text, ',' ORDER BY g::text)) FROM "
         "pg_temp." +
         guard_table + " g)";
}

// BEGIN, the schema set aside, the "before" snapshot in a temp table whose
// name the dump cannot know, and its digest in the psql variable
// tb_guard_digest.
}  // namespace

std::string restore_prologue(const RestoreTarget& t, const std::string& guard_table) {
  std::string s = "BEGIN;\n";
  s += kPinnedSearchPath;
  if (t.identity.aside_through_service) {
    // The live schema belongs to a privileged role the replay login is not.
    s += "SELECT control_plane.set_schema_aside(" + quote_literal(t.schema) + ", " +
         quote_literal(t.aside_schema) + ");\n";
  } else {
    s += "DO $tb_restore$ BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname "
         "OPERATOR(pg_catalog.=) " +
         quote_literal(t.schema) + ") THEN ALTER SCHEMA " + quote_ident(t.schema) + " RENAME TO " +
         quote_ident(t.aside_schema) + "; END IF; END $tb_restore$;\n";
  }
  s += "CREATE TEMP TABLE " + guard_table + " ON COMMIT DROP AS " + catalog_snapshot_sql() + ";\n";
  s += "SELECT " + guard_digest_sql(guard_table) + " AS tb_guard_digest \\gset\n";
  return s;
}

namespace {

// A condition on a snapshot row `r`: false for the roles of *other*
// projects' restores and verifications (tb_replay_*, tb_owner_*,
// tb_verify_*), which the service itself creates, logs in and out, grants
// and drops while this replay runs, and for the scratch databases of
// verifications (tb_verify_*), created and dropped by the service alike.
// Tenant code cannot touch either: it has no CREATEROLE, no CREATEDB and no
// admin option on them, and owns none of them.
std::string others_replay_roles(const std::string& r, const ReplayIdentity& id) {
  const std::string name = "pg_catalog.split_part(" + r + ".label, ' in ', 1)";
  return "NOT (" + r + ".cat IN ('role', 'role membership') AND " + name +
         " ~ '^tb_(replay|owner|verify)_' AND " + name + " NOT IN (" + quote_literal(id.login) +
         ", " + quote_literal(id.owner) + ")) AND NOT (" + r + ".cat = 'pg_database' AND " + r +
         ".label ~ '^tb_verify_[0-9a-f]+$' AND " + r +
         ".label OPERATOR(pg_catalog.<>) pg_catalog.current_database())";
}

}  // namespace

// The digest check, ownership to the owner, the guard, the caller's
// precondition, COMMIT, and a marker printed (as a WARNING, on stderr) only
// once COMMIT went through. Runs after the dump's own \unrestrict, so psql's
// meta-commands are available again (a dump cut short never gets here).
std::string restore_epilogue(const RestoreTarget& t, const std::string& guard_table,
                             const std::string& marker) {
  std::string q = "$" + guard_table + "$";
  std::string s = "\n";
  s += kPinnedSearchPath;
  s += "SELECT " + guard_digest_sql(guard_table) +
       " OPERATOR(pg_catalog.=) :'tb_guard_digest' AS tb_guard_intact \\gset\n";
  s += "\\if :tb_guard_intact\n\\else\n\\warn " + std::string(kRestoreGuardTag) +
       "the code in the backup changed the records of the restore guard\n\\quit\n\\endif\n";
  s += "REASSIGN OWNED BY CURRENT_USER TO " + quote_ident(t.identity.owner) + ";\n";
  s += "DO " + q + " DECLARE bad text; BEGIN\n";
  s += "WITH after AS (" + catalog_snapshot_sql() + "), before AS (SELECT * FROM pg_temp." +
       guard_table + "), target AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = " +
       quote_literal(t.schema) + "),\n";
  s += "changed AS (SELECT a.* FROM after a WHERE NOT EXISTS (SELECT 1 FROM before b WHERE b.cat = "
       "a.cat AND "
       "b.key = a.key AND b.xm = a.xm)),\n";
  s += "gone AS (SELECT b.* FROM before b WHERE NOT EXISTS (SELECT 1 FROM after a WHERE a.cat = "
       "b.cat AND b.key = a.key))\n";
  s += "SELECT pg_catalog.left(pg_catalog.string_agg(DISTINCT what, ', '), 400) INTO bad FROM (\n";
  s += "SELECT c.label AS what FROM changed c WHERE NOT c.tmp AND c.nsp IS DISTINCT FROM (SELECT "
       "oid FROM target) AND " +
       others_replay_roles("c", t.identity) + "\n";
  s += "UNION ALL SELECT 'dropped ' || g.label FROM gone g WHERE NOT g.tmp AND " +
       others_replay_roles("g", t.identity) + ") x;\n";
  s += "IF bad IS NOT NULL THEN RAISE EXCEPTION '" + std::string(kRestoreGuardTag) +
       "the backup would create or change objects outside schema %: %', " +
       quote_literal(t.schema) + ", bad; END IF;\n";
  s += "IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = " +
       quote_literal(t.schema) + ") THEN RAISE EXCEPTION '" + std::string(kRestoreGuardTag) +
       "the backup does not contain schema %', " + quote_literal(t.schema) + "; END IF;\n";
  s += "END " + q + ";\n";
  if (!t.commit_precondition.empty())
    s += "DO " + q + " BEGIN\n" + t.commit_precondition + "\nEND " + q + ";\n";
  s += "COMMIT;\n";
  s += "SET client_min_messages = warning;\n";
  s += "DO " + q + " BEGIN RAISE WARNING '" + marker + "'; END " + q + ";\n";
  return s;
}

}  // namespace tb::backup
