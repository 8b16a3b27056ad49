// fas_application: FAS2's HTTP surface (TurboGears 1 conventions, spec/fas-server.md) as a
// pure request -> response function over a fas_directory.
#include <fedora/emulator/certificates.hpp>
#include <fedora/emulator/fas.hpp>

#include "fas_detail.hpp"
#include "fas_internal.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_path.hpp>
#include <boost/url/parse_query.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <mutex>

namespace fedora::emulator {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace fas_detail;

namespace {

constexpr std::string_view content_json = "application/json";
constexpr std::string_view content_html = "text/html; charset=utf-8";
constexpr std::string_view content_text = "text/plain; charset=utf-8";

// Privilege group names from fas.cfg.sample (admingroup, systemgroup, thirdpartygroup,
// modo.group, the hard-coded sysadmin, cla_done_group).
constexpr std::string_view group_admin = "accounts";
constexpr std::string_view group_system = "fas-system";
constexpr std::string_view group_thirdparty = "thirdparty";
constexpr std::string_view group_modo = "accounts-moderators";
constexpr std::string_view group_sysadmin = "sysadmin";
constexpr std::string_view group_cla_done = "cla_done";
constexpr std::string_view deprecated_cla = "cla_fedora";
// Applications the configs table's CHECK constraint allows.
constexpr std::string_view config_apps[] = {"asterisk", "moin", "myfedora", "openid",
                                            "yubikey", "bugzilla"};

struct param
{
    std::string name;
    std::string value;
};

// An answer that ends the request early (500 for Python TypeErrors and DB errors, etc.).
struct http_error
{
    unsigned status;
    std::string message;
};

[[noreturn]] void fail(unsigned status, std::string message)
{
    throw http_error{status, std::move(message)};
}

struct privileges
{
    bool admin = false;      // accounts
    bool system = false;     // fas-system
    bool thirdparty = false; // thirdparty
    bool modo = false;       // accounts-moderators
    bool sysadmin = false;   // sysadmin
};

struct reply
{
    unsigned status = 200;
    std::string_view content_type = content_json;
    std::string body;
    std::string location;                // for 3xx
    std::optional<std::string> set_flash; // tg_flash cookie for the redirect target
};

enum class arg_kind : std::uint8_t { scalar, list };

struct arg_spec
{
    std::string_view name;
    arg_kind kind = arg_kind::scalar;
};

struct call;

// One exposed controller method.
struct route
{
    std::vector<std::string_view> path;
    int id = 0; // impl::route_id
    std::vector<arg_spec> args;
    bool guarded = true;   // identity.require(not_anonymous())
    bool kwargs = false;   // **kwargs: any parameter name is accepted
    bool exact = false;    // a controller index: no extra path segments
    bool varargs = false;  // *args: extra path segments are ignored
    bool always_json = false;
};

struct bound_arg
{
    std::string_view name;
    std::vector<std::string_view> values;
    bool positional = false;
};

struct call
{
    call(const http_request& r, const request_context& c) : req(r), ctx(c) {}
    const http_request& req;
    const request_context& ctx;
    std::int64_t now_us = 0;

    std::vector<std::string> segments;
    std::vector<param> params;
    const route* rt = nullptr;
    std::vector<bound_arg> bound;
    std::vector<const param*> extra;

    bool want_json = false;
    bool tg_format_json = false;

    std::shared_ptr<session_store::entry> visit;
    std::int64_t user_id = 0; // 0 = anonymous
    std::string user_name;
    privileges priv;
    bool login_attempted = false;
    bool login_succeeded = false;
    std::string failure_reason;

    std::optional<std::string> cookie_flash;
    bool cookie_flash_used = false;
    std::optional<std::string> flash;

    bool identified() const { return user_id != 0; }

    const bound_arg* find_arg(std::string_view name) const
    {
        for (const auto& b : bound)
            if (b.name == name) return &b;
        return nullptr;
    }
    std::optional<std::string_view> arg(std::string_view name) const
    {
        const auto* b = find_arg(name);
        if (b == nullptr || b->values.empty()) return std::nullopt;
        return b->values.front();
    }
    std::string_view arg_or(std::string_view name, std::string_view def) const
    {
        auto v = arg(name);
        return v ? *v : def;
    }
    std::string_view required(std::string_view name) const
    {
        auto v = arg(name);
        if (!v) fail(500, "TypeError: missing required argument '" + std::string(name) + "'");
        return *v;
    }
    const param* find_param(std::string_view name) const
    {
        const param* last = nullptr;
        for (const auto& p : params)
            if (p.name == name) last = &p;
        return last;
    }
};

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto x = static_cast<unsigned char>(a[i]);
        auto y = static_cast<unsigned char>(b[i]);
        if (std::tolower(x) != std::tolower(y)) return false;
    }
    return true;
}

// application/x-www-form-urlencoded, as cgi.FieldStorage read it (blank values kept, empty
// names dropped). False for malformed percent-encoding or text that is not UTF-8, which
// CherryPy's decoding filter refused.
bool parse_form(std::string_view s, std::vector<param>& out)
{
    if (s.empty()) return true;
    auto r = boost::urls::parse_query(boost::urls::string_view(s.data(), s.size()));
    if (!r) return false;
    boost::urls::encoding_opts opt;
    opt.space_as_plus = true;
    for (auto p : *r) {
        param q;
        q.name = p.key.decode(opt);
        if (p.has_value) q.value = p.value.decode(opt);
        if (!is_valid_utf8(q.name) || !is_valid_utf8(q.value)) return false;
        if (q.name.empty()) continue;
        out.push_back(std::move(q));
    }
    return true;
}

// Path segments, each percent-decoded once (so an encoded '/' stays inside its segment).
bool parse_segments(std::string_view path, std::vector<std::string>& out)
{
    if (path.empty()) return true;
    auto r = boost::urls::parse_path(boost::urls::string_view(path.data(), path.size()));
    if (!r) return false;
    for (auto seg : *r) {
        std::string s = seg.decode();
        if (!is_valid_utf8(s)) return false;
        out.push_back(std::move(s));
    }
    while (!out.empty() && out.back().empty()) out.pop_back(); // trailing '/'
    return true;
}

// TG 1 picks JSON when the highest-q Accept entry is application/json or text/javascript.
bool accept_wants_json(std::string_view accept)
{
    if (accept == "application/json") return true; // the python-fedora fast path
    double best_q = -1;
    std::string_view best;
    while (!accept.empty()) {
        auto comma = accept.find(',');
        std::string_view item = trim(accept.substr(0, comma));
        accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
        auto semi = item.find(';');
        std::string_view type = trim(item.substr(0, semi));
        double q = 1.0;
        while (semi != std::string_view::npos) {
            item = item.substr(semi + 1);
            semi = item.find(';');
            std::string_view prm = trim(item.substr(0, semi));
            if (prm.size() > 2 && (prm[0] == 'q' || prm[0] == 'Q') && prm[1] == '=') {
                double v = 0;
                auto digits = prm.substr(2);
                // from_chars(double) is in GCC 12's libstdc++.
                auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v);
                q = res.ec == std::errc{} ? v : 0.0;
            }
        }
        if (!type.empty() && q > best_q) {
            best_q = q;
            best = type;
        }
    }
    return best_q > 0 && (iequals(best, "application/json") || iequals(best, "text/javascript"));
}

// The last value of a cookie among all Cookie headers (SimpleCookie keeps the last one).
std::optional<std::string_view> cookie_value(const http_request& req, std::string_view name)
{
    std::optional<std::string_view> found;
    auto range = req.equal_range(http::field::cookie);
    for (auto it = range.first; it != range.second; ++it) {
        std::string_view v = it->value();
        while (!v.empty()) {
            auto semi = v.find(';');
            std::string_view item = trim(v.substr(0, semi));
            v = semi == std::string_view::npos ? std::string_view{} : v.substr(semi + 1);
            auto eq = item.find('=');
            if (eq == std::string_view::npos) continue;
            if (trim(item.substr(0, eq)) == name) {
                std::string_view val = trim(item.substr(eq + 1));
                if (val.size() >= 2 && val.front() == '"' && val.back() == '"')
                    val = val.substr(1, val.size() - 2);
                found = val;
            }
        }
    }
    return found;
}

std::optional<std::string> base64_decode(std::string_view in)
{
    if (in.size() % 4 != 0 || in.size() > 8192) return std::nullopt;
    std::string out(in.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    if (n < 0) return std::nullopt;
    out.resize(static_cast<std::size_t>(n));
    // EVP_DecodeBlock keeps the zero bytes that stand for '=' padding.
    if (in.size() >= 1 && in.back() == '=') out.pop_back();
    if (in.size() >= 2 && in[in.size() - 2] == '=') out.pop_back();
    return out;
}

std::optional<std::int64_t> parse_int(std::string_view s)
{
    s = trim(s); // int() and PostgreSQL both ignore surrounding blanks
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    std::int64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// FAS search patterns: '*' -> '%', then lower-cased.
std::string fas_pattern(std::string_view search)
{
    std::string out;
    out.reserve(search.size());
    for (char ch : search) out += ch == '*' ? '%' : ch;
    return ascii_lower(out);
}

void append_json(std::string& out, const json::value& v)
{
    append_ascii_json(out, json::serialize(v));
}

void append_json(std::string& out, const json::object& o)
{
    append_ascii_json(out, json::serialize(o));
}

void append_json_string(std::string& out, std::string_view s)
{
    append_ascii_json(out, json::serialize(json::string_view(s.data(), s.size())));
}

std::string ctime_utc(std::int64_t now_us)
{
    std::time_t t = static_cast<std::time_t>(now_us / 1'000'000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
    return std::string(buf, n);
}

std::string html_page(std::string_view title, std::string_view inner)
{
    std::string out;
    out.reserve(inner.size() + 256);
    out += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>";
    out += html_escape(title);
    out += " - Fedora Accounts System</title></head>\n<body>\n<h1>";
    out += html_escape(title);
    out += "</h1>\n";
    out += inner;
    out += "\n</body></html>\n";
    return out;
}

bool is_status_allowed_to_login(fas_account_status s)
{
    return s == fas_account_status::active || s == fas_account_status::bot;
}

} // namespace

// ---------------------------------------------------------------------------------------

struct fas_application::impl
{
    impl(std::shared_ptr<fas_directory> d, fas_app_params p)
        : dir(std::move(d)),
          prm(std::move(p)),
          sessions(std::chrono::duration_cast<std::chrono::microseconds>(prm.session_timeout),
                   prm.max_sessions)
    {
        build_routes();
    }

    std::shared_ptr<fas_directory> dir;
    fas_app_params prm;
    session_store sessions;
    password_cache passwords;
    person_json_cache person_cache;
    std::vector<route> routes;

    std::mutex ca_mutex;
    std::optional<pem_pair> client_ca; // signs /user/dogencert certificates, made lazily

    enum route_id : int {
        r_index, r_login, r_logout, r_home, r_json_index, r_person_by_id,
        r_person_by_username, r_group_by_id, r_group_by_name, r_user_id, r_people_query,
        r_fas_client, r_user_view, r_user_list, r_user_dump, r_dogencert, r_gencert,
        r_group_dump, r_group_list, r_group_create, r_group_view, r_group_members,
        r_config_list, r_config_set, r_fpca,
    };

    std::int64_t now_us() const
    {
        auto t = prm.clock ? prm.clock() : std::chrono::system_clock::now();
        return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    }
    static fas_time as_time(std::int64_t us) { return fas_time{std::chrono::microseconds{us}}; }

    void build_routes();
    const route* find_route(const std::vector<std::string>& segs) const;
    http_response handle(const http_request& req, const request_context& ctx);
    reply run(call& c);
    reply dispatch(call& c);
    void read_params(call& c);
    void resolve_identity(call& c);
    bool check_credentials(call& c, std::string user, std::string_view password, bool otp);
    void bind_args(call& c);
    http_response finish(call& c, reply&& r);

    // answers
    json::value flash_value(call& c, const json::storage_ptr& sp);
    reply json_reply(call& c, json::object& o);
    reply json_text(call& c, std::string body_open);
    reply html_reply(call& c, std::string_view title, std::string_view inner, unsigned status = 200);
    reply redirect(call& c, std::string_view path, std::optional<std::string> flash);
    reply login_required(call& c);
    reply error_page(call& c, unsigned status, std::string_view message);
    reply silent_validation_failure(call& c);
    reply app_error(call& c, std::string_view exc, std::string message);

    // privilege helpers
    view_level level_for(const call& c, const fas_person& target) const;
    bool can_admin_group(const call& c, const fas_directory::reader& r, const fas_group& g) const;
    bool can_view_group(const call& c, const fas_directory::reader& r, const fas_group& g) const;
    static bool in_group_approved(const fas_directory::reader& r, const fas_person& p,
                                  std::string_view group);
    static bool undeprecated_cla(const fas_directory::reader& r, const fas_person& p);

    // handlers
    reply h_index(call& c);
    reply h_login(call& c);
    reply h_logout(call& c);
    reply h_home(call& c);
    reply h_json_index(call& c);
    reply h_person_by(call& c, bool by_id);
    reply h_group_by(call& c, bool by_id);
    reply h_user_id(call& c);
    reply h_people_query(call& c);
    reply h_fas_client(call& c);
    reply h_user_view(call& c);
    reply h_user_list(call& c);
    reply h_user_dump(call& c);
    reply h_dogencert(call& c);
    reply h_gencert(call& c);
    reply h_group_dump(call& c);
    reply h_group_list(call& c);
    reply h_group_create(call& c);
    reply h_group_view(call& c);
    reply h_group_members(call& c);
    reply h_config_list(call& c);
    reply h_config_set(call& c);
    reply h_fpca(call& c);
};

void fas_application::impl::build_routes()
{
    auto add = [&](std::vector<std::string_view> path, int id, std::vector<arg_spec> args,
                   bool guarded = true) -> route& {
        route r;
        r.path = std::move(path);
        r.id = id;
        r.args = std::move(args);
        r.guarded = guarded;
        routes.push_back(std::move(r));
        return routes.back();
    };
    add({}, r_index, {}, false).exact = true;
    add({"index"}, r_index, {}, false).exact = true;
    {
        auto& r = add({"login"}, r_login, {{"forward_url"}}, false);
        r.kwargs = true;
        r.varargs = true;
    }
    add({"logout"}, r_logout, {}, false);
    add({"home"}, r_home, {});
    add({"json"}, r_json_index, {}).exact = true;
    add({"json", "index"}, r_json_index, {}).always_json = true;
    add({"json", "person_by_id"}, r_person_by_id, {{"person_id"}}).always_json = true;
    add({"json", "person_by_username"}, r_person_by_username, {{"username"}}).always_json = true;
    add({"json", "group_by_id"}, r_group_by_id, {{"group_id"}}).always_json = true;
    add({"json", "group_by_name"}, r_group_by_name, {{"groupname"}}).always_json = true;
    add({"json", "user_id"}, r_user_id, {}).always_json = true;
    {
        auto& r = add({"json", "people_query"}, r_people_query, {{"columns"}});
        r.kwargs = true;
        r.always_json = true;
    }
    add({"json", "fas_client"}, r_fas_client, {{"data"}, {"force_refresh"}}).always_json = true;
    for (auto& r : routes)
        if (!r.path.empty() && r.path[0] == "json") r.always_json = true;
    add({"user", "view"}, r_user_view, {{"username"}});
    add({"user", "list"}, r_user_list,
        {{"search"}, {"fields", arg_kind::list}, {"limit"}, {"status"}, {"by_email"},
         {"by_ircnick"}});
    add({"user", "dump"}, r_user_dump, {{"search"}, {"groups"}});
    add({"user", "dogencert"}, r_dogencert, {});
    add({"user", "gencert"}, r_gencert, {});
    add({"group", "dump"}, r_group_dump, {{"groupname"}, {"role_type"}});
    add({"group", "list"}, r_group_list, {{"search"}, {"with_members"}});
    add({"group", "create"}, r_group_create,
        {{"name"}, {"display_name"}, {"owner"}, {"group_type"}, {"invite_only"},
         {"needs_sponsor"}, {"user_can_remove"}, {"prerequisite"}, {"joinmsg"},
         {"apply_rules"}});
    add({"group", "view"}, r_group_view, {{"groupname"}, {"order_by"}});
    add({"group", "members"}, r_group_members,
        {{"groupname"}, {"search"}, {"role_type"}, {"order_by"}});
    add({"config", "list"}, r_config_list, {{"username"}, {"application"}, {"pattern"}});
    add({"config", "set"}, r_config_set,
        {{"username"}, {"application"}, {"attribute"}, {"value"}});
    add({"fpca"}, r_fpca, {}).exact = true;
    add({"fpca", "index"}, r_fpca, {});
    // Deepest paths first, so "json/index" wins over "json".
    std::stable_sort(routes.begin(), routes.end(),
                     [](const route& a, const route& b) { return a.path.size() > b.path.size(); });
}

const route* fas_application::impl::find_route(const std::vector<std::string>& segs) const
{
    for (const auto& r : routes) {
        if (segs.size() < r.path.size()) continue;
        bool match = true;
        for (std::size_t i = 0; i < r.path.size() && match; ++i) match = segs[i] == r.path[i];
        if (!match) continue;
        if (r.exact && segs.size() != r.path.size()) continue;
        return &r;
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------
// request plumbing
// ---------------------------------------------------------------------------------------

http_response fas_application::impl::handle(const http_request& req, const request_context& ctx)
{
    call c(req, ctx);
    reply r;
    try {
        c.now_us = now_us();
        // TG's visit filter runs for every request, errors included.
        auto presented = cookie_value(req, "tg-visit");
        c.visit = sessions.visit(presented ? *presented : std::string_view{}, c.now_us);
        if (auto f = cookie_value(req, "tg_flash"); f && !f->empty()) {
            std::string decoded;
            auto pv = boost::urls::make_pct_string_view(boost::urls::string_view(f->data(), f->size()));
            if (pv) decoded = pv->decode();
            if (pv && is_valid_utf8(decoded)) c.cookie_flash = std::move(decoded);
        }
        r = run(c);
    } catch (const http_error& e) {
        try {
            r = error_page(c, e.status, e.message);
        } catch (...) {
            r = reply{500, content_text, "500 Internal Server Error\n", {}, {}};
        }
    } catch (const std::exception& e) {
        try {
            r = error_page(c, 500, e.what());
        } catch (...) {
            r = reply{500, content_text, "500 Internal Server Error\n", {}, {}};
        }
    }
    return finish(c, std::move(r));
}

reply fas_application::impl::run(call& c)
{
    if (!parse_segments(c.ctx.path_in_app, c.segments))
        return error_page(c, 400, "The request path is not valid percent-encoded UTF-8.");
    read_params(c);
    c.rt = find_route(c.segments);
    if (c.rt == nullptr) {
        std::string path = prm.mount_prefix + c.ctx.path_in_app;
        return error_page(c, 404, "The path '" + path + "' was not found.");
    }

    if (const param* f = c.find_param("tg_format")) c.tg_format_json = f->value == "json";
    c.want_json = c.rt->always_json || c.tg_format_json ||
                  accept_wants_json(c.req[http::field::accept]);

    resolve_identity(c);
    if (c.rt->id == r_login) {
        // Root.login runs whatever happened; it decides between 200 and 403 itself.
        bind_args(c);
        return h_login(c);
    }
    if (c.rt->guarded && !c.identified()) return login_required(c);
    bind_args(c);
    return dispatch(c);
}

reply fas_application::impl::dispatch(call& c)
{
    switch (c.rt->id) {
    case r_index: return h_index(c);
    case r_login: return h_login(c);
    case r_logout: return h_logout(c);
    case r_home: return h_home(c);
    case r_json_index: return h_json_index(c);
    case r_person_by_id: return h_person_by(c, true);
    case r_person_by_username: return h_person_by(c, false);
    case r_group_by_id: return h_group_by(c, true);
    case r_group_by_name: return h_group_by(c, false);
    case r_user_id: return h_user_id(c);
    case r_people_query: return h_people_query(c);
    case r_fas_client: return h_fas_client(c);
    case r_user_view: return h_user_view(c);
    case r_user_list: return h_user_list(c);
    case r_user_dump: return h_user_dump(c);
    case r_dogencert: return h_dogencert(c);
    case r_gencert: return h_gencert(c);
    case r_group_dump: return h_group_dump(c);
    case r_group_list: return h_group_list(c);
    case r_group_create: return h_group_create(c);
    case r_group_view: return h_group_view(c);
    case r_group_members: return h_group_members(c);
    case r_config_list: return h_config_list(c);
    case r_config_set: return h_config_set(c);
    case r_fpca: return h_fpca(c);
    }
    fail(404, "no handler");
}

void fas_application::impl::read_params(call& c)
{
    std::string_view body;
    auto method = c.req.method();
    if (method == http::verb::post || method == http::verb::put) {
        auto ct = c.req[http::field::content_type];
        auto semi = ct.find(';');
        auto type = trim(ct.substr(0, semi));
        // cgi.FieldStorage treats a body without Content-Type as a form.
        if (type.empty() || iequals(type, "application/x-www-form-urlencoded")) body = c.req.body();
    }
    if (c.ctx.query.size() + body.size() > prm.max_form_bytes)
        fail(413, "The request parameters are too large.");
    if (!parse_form(c.ctx.query, c.params) || !parse_form(body, c.params))
        fail(400, "The request parameters could not be decoded (malformed percent-encoding or not UTF-8).");
}

void fas_application::impl::resolve_identity(call& c)
{
    auto take = [&](std::string_view name) {
        std::optional<std::string> last;
        std::erase_if(c.params, [&](param& p) {
            if (p.name != name) return false;
            last = std::move(p.value);
            return true;
        });
        return last;
    };

    // 1. Form login: TG's identity layer consumes user_name/password/login (and otp).
    if (c.find_param("login") != nullptr) {
        c.login_attempted = true;
        auto user = take("user_name");
        auto pass = take("password");
        take("login");
        bool otp = take("otp").has_value();
        check_credentials(c, user.value_or(""), pass.value_or(""), otp);
    }

    // 2. HTTP Basic.
    if (!c.identified()) {
        std::string_view auth = c.req[http::field::authorization];
        if (auth.size() > 6 && iequals(auth.substr(0, 6), "basic ")) {
            c.login_attempted = true;
            auto decoded = base64_decode(trim(auth.substr(6)));
            auto colon = decoded ? decoded->find(':') : std::string::npos;
            if (decoded && colon != std::string::npos && is_valid_utf8(*decoded)) {
                check_credentials(c, decoded->substr(0, colon),
                                  std::string_view(*decoded).substr(colon + 1), false);
            } else if (c.failure_reason.empty()) {
                c.failure_reason = "bad_basic_auth";
            }
        }
    }

    // 3. The visit cookie, only together with the right _csrf_token.
    if (!c.identified()) {
        auto linked = c.visit->user_id.load(std::memory_order_relaxed);
        if (linked != 0) {
            const param* token = c.find_param("_csrf_token");
            if (token != nullptr && token->value == c.visit->csrf) {
                auto r = dir->read();
                const fas_person* p = r.person_by_id(linked);
                if (p != nullptr && is_status_allowed_to_login(p->status)) {
                    c.user_id = p->id;
                    c.user_name = p->username;
                } else {
                    // A linked session is dropped once the account may no longer log in.
                    c.visit->user_id.store(0, std::memory_order_relaxed);
                }
            } else if (c.failure_reason.empty()) {
                c.failure_reason = "bad_csrf";
            }
        }
    }

    if (c.identified()) {
        auto r = dir->read();
        if (const fas_person* p = r.person_by_id(c.user_id)) {
            for (const auto& role : p->roles) {
                if (role.role_status != fas_role_status::approved) continue;
                const fas_group* g = r.group_by_id(role.group_id);
                if (g == nullptr) continue;
                if (g->name == group_admin) c.priv.admin = true;
                else if (g->name == group_system) c.priv.system = true;
                else if (g->name == group_thirdparty) c.priv.thirdparty = true;
                else if (g->name == group_modo) c.priv.modo = true;
                else if (g->name == group_sysadmin) c.priv.sysadmin = true;
            }
        }
    }
}

bool fas_application::impl::check_credentials(call& c, std::string user,
                                               std::string_view password, bool otp)
{
    constexpr std::string_view email_host = "@fedoraproject.org";
    if (user.size() > email_host.size() && user.ends_with(email_host))
        user.resize(user.size() - email_host.size());

    std::string hash;
    std::int64_t id = 0;
    fas_time last_seen{};
    {
        auto r = dir->read();
        const fas_person* p = r.person_by_username(user);
        if (p == nullptr) {
            c.failure_reason = "no_user";
            return false;
        }
        if (!is_status_allowed_to_login(p->status)) {
            c.failure_reason = "status_" + std::string(to_string(p->status));
            return false;
        }
        hash = p->password;
        id = p->id;
        last_seen = p->last_seen;
    }
    // The crypt check runs without the directory lock: it is the slow part.
    if (otp) {
        c.failure_reason = "bad_otp"; // yubikey checks fail unless yubi_enabled (it is not)
        return false;
    }
    if (!passwords.verify(password, hash)) {
        c.failure_reason = "bad_password";
        return false;
    }
    c.user_id = id;
    c.user_name = std::move(user);
    c.login_succeeded = true;
    c.failure_reason.clear();
    c.visit->user_id.store(id, std::memory_order_relaxed);
    // last_seen = now. Skipped within a second of the previous update so that clients
    // re-sending the password on every call do not take the exclusive lock every time.
    auto now = as_time(c.now_us);
    if (now - last_seen >= std::chrono::seconds{1} || now < last_seen) dir->touch_last_seen(id, now);
    return true;
}

void fas_application::impl::bind_args(call& c)
{
    const route& rt = *c.rt;
    c.bound.clear();
    c.bound.reserve(rt.args.size());
    for (const auto& a : rt.args) c.bound.push_back(bound_arg{a.name, {}, false});

    const std::size_t first = rt.path.size();
    const std::size_t npos_args = c.segments.size() - first;
    if (npos_args > rt.args.size() && !rt.varargs)
        fail(500, "TypeError: too many positional arguments (" + std::to_string(npos_args) + ")");
    for (std::size_t i = 0; i < npos_args && i < rt.args.size(); ++i) {
        c.bound[i].values.push_back(c.segments[first + i]);
        c.bound[i].positional = true;
    }
    for (const auto& p : c.params) {
        // Removed by TG before the call (tg.ignore_parameters + enable_csrf()).
        if (p.name == "_csrf_token" || p.name == "tg_format" || p.name == "tg_random") continue;
        bound_arg* b = nullptr;
        for (auto& x : c.bound)
            if (x.name == p.name) b = &x;
        if (b == nullptr) {
            if (!rt.kwargs)
                fail(500, "TypeError: unexpected keyword argument '" + p.name + "'");
            c.extra.push_back(&p);
            continue;
        }
        if (b->positional)
            fail(500, "TypeError: got multiple values for argument '" + p.name + "'");
        b->values.push_back(p.value);
    }
    for (std::size_t i = 0; i < rt.args.size(); ++i) {
        // A repeated scalar arrives as a Python list, which the SQL layer rejects.
        if (rt.args[i].kind == arg_kind::scalar && c.bound[i].values.size() > 1)
            fail(500, "ProgrammingError: a list was given for '" + std::string(rt.args[i].name) + "'");
    }
}

http_response fas_application::impl::finish(call& c, reply&& r)
{
    http_response res;
    res.version(c.req.version() == 10 ? 10 : 11);
    res.result(static_cast<http::status>(r.status));
    res.set(http::field::content_type, r.content_type);
    if (c.visit) {
        std::string cookie;
        cookie.reserve(60);
        cookie.append("tg-visit=").append(c.visit->key).append("; Path=/");
        res.insert(http::field::set_cookie, cookie);
    }
    if (r.set_flash) {
        res.insert(http::field::set_cookie, "tg_flash=" + pct_encode(*r.set_flash) + "; Path=/");
    } else if (c.cookie_flash_used || (c.cookie_flash && r.status < 300)) {
        // TG clears the flash cookie once a page has shown it.
        res.insert(http::field::set_cookie,
                   "tg_flash=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/");
    }
    if (!r.location.empty()) res.set(http::field::location, r.location);
    res.keep_alive(c.req.keep_alive());
    res.body() = std::move(r.body);
    res.prepare_payload();
    return res;
}

// ---------------------------------------------------------------------------------------
// answers
// ---------------------------------------------------------------------------------------

json::value fas_application::impl::flash_value(call& c, const json::storage_ptr& sp)
{
    if (c.flash) return json::value(json::string_view(*c.flash), sp);
    if (c.cookie_flash) {
        c.cookie_flash_used = true;
        return json::value(json::string_view(*c.cookie_flash), sp);
    }
    return json::value(nullptr, sp);
}

reply fas_application::impl::json_reply(call& c, json::object& o)
{
    o["tg_flash"] = flash_value(c, o.storage());
    reply r;
    append_json(r.body, o);
    return r;
}

reply fas_application::impl::json_text(call& c, std::string body)
{
    body += body.size() > 1 ? ",\"tg_flash\":" : "\"tg_flash\":";
    append_json(body, flash_value(c, {}));
    body += '}';
    reply r;
    r.body = std::move(body);
    return r;
}

reply fas_application::impl::html_reply(call& c, std::string_view title, std::string_view inner,
                                        unsigned status)
{
    std::string text(inner);
    std::optional<std::string> flash = c.flash;
    if (!flash && c.cookie_flash) {
        flash = c.cookie_flash;
        c.cookie_flash_used = true;
    }
    if (flash) text = "<p class=\"flash\">" + html_escape(*flash) + "</p>\n" + text;
    reply r;
    r.status = status;
    r.content_type = content_html;
    r.body = html_page(title, text);
    return r;
}

reply fas_application::impl::redirect(call& c, std::string_view path, std::optional<std::string> flash)
{
    reply r;
    // CherryPy: 303 for HTTP/1.1 clients, 302 for HTTP/1.0.
    r.status = c.req.version() == 10 ? 302 : 303;
    r.content_type = content_html;
    r.location = c.ctx.origin + prm.mount_prefix + std::string(path);
    // enable_csrf(): URLs generated for a logged-in user carry the token.
    if (c.identified() && c.visit) {
        r.location += path.find('?') == std::string_view::npos ? "?_csrf_token=" : "&_csrf_token=";
        r.location += c.visit->csrf;
    }
    r.set_flash = std::move(flash);
    r.body = "<html><body>This resource can be found at <a href=\"" + html_escape(r.location) +
             "\">" + html_escape(r.location) + "</a>.</body></html>\n";
    return r;
}

reply fas_application::impl::login_required(call& c)
{
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    json::object o(sp);
    std::string message;
    json::value forward(nullptr, sp);
    if (c.login_attempted) {
        message = "The credentials you supplied were not correct or did not grant access to this resource.";
    } else if (c.rt != nullptr && c.rt->id == r_login) {
        message = "Please log in.";
        std::string_view fwd = c.arg_or("forward_url", "");
        if (fwd.empty()) fwd = c.req[http::field::referer];
        forward = json::string_view(fwd.empty() ? std::string_view("/") : fwd);
    } else {
        message = "You must provide your credentials before accessing this resource.";
    }
    if (c.failure_reason == "status_inactive")
        c.flash = "Your old password has expired.  Please reset your password below.";

    if (!c.want_json) {
        std::string inner = "<p>" + html_escape(message) +
            "</p>\n<form method=\"post\" action=\"" + html_escape(prm.mount_prefix) +
            "/login\"><input name=\"user_name\"><input type=\"password\" name=\"password\">"
            "<input type=\"submit\" name=\"login\" value=\"Login\"></form>";
        return html_reply(c, "Login", inner, 403);
    }
    o.emplace("logging_in", true);
    o.emplace("message", json::string_view(message));
    o.emplace("forward_url", std::move(forward));
    o.emplace("previous_url", json::string_view(prm.mount_prefix + c.ctx.path_in_app));
    json::object orig(sp);
    for (const auto& p : c.params) {
        auto it = orig.find(p.name);
        if (it == orig.end()) {
            orig.emplace(p.name, json::string_view(p.value));
        } else if (it->value().is_array()) {
            it->value().get_array().emplace_back(json::string_view(p.value));
        } else {
            json::array list(sp);
            list.emplace_back(std::move(it->value()));
            list.emplace_back(json::string_view(p.value));
            it->value() = std::move(list);
        }
    }
    o.emplace("original_parameters", std::move(orig));
    reply r = json_reply(c, o);
    r.status = 403;
    return r;
}

reply fas_application::impl::error_page(call&, unsigned status, std::string_view message)
{
    std::string_view title;
    switch (status) {
    case 400: title = "400 Bad Request"; break;
    case 404: title = "404 Not Found"; break;
    case 413: title = "413 Request Entity Too Large"; break;
    default: title = "500 Internal Server Error"; status = 500; break;
    }
    std::string inner = "<p>";
    inner += html_escape(status == 500
        ? std::string_view("The server encountered an unexpected condition which prevented it from fulfilling the request.")
        : message);
    inner += "</p>";
    if (status == 500) inner += "\n<pre>" + html_escape(message) + "</pre>";
    reply r;
    r.status = status;
    r.content_type = content_html;
    r.body = html_page(title, inner);
    return r;
}

reply fas_application::impl::silent_validation_failure(call& c)
{
    // Group.error() returns only tg_errors, which the JSON renderer strips.
    if (!c.want_json) return html_reply(c, "Error", "<p>The request could not be validated.</p>");
    json::object o;
    return json_reply(c, o);
}

reply fas_application::impl::app_error(call& c, std::string_view exc, std::string message)
{
    c.flash = std::move(message);
    if (!c.want_json) return html_reply(c, "Error", "<p>" + html_escape(exc) + "</p>");
    json::object o;
    o.emplace("exc", json::string_view(exc));
    return json_reply(c, o);
}

// ---------------------------------------------------------------------------------------
// privileges
// ---------------------------------------------------------------------------------------

view_level fas_application::impl::level_for(const call& c, const fas_person& target) const
{
    if (c.priv.admin || c.priv.system) return view_level::admin;
    if (c.identified() && c.user_id == target.id) return view_level::self;
    if (!c.identified()) return view_level::anonymous;
    if (target.privacy) return view_level::privacy;
    return view_level::pub;
}

bool fas_application::impl::in_group_approved(const fas_directory::reader& r, const fas_person& p,
                                              std::string_view group)
{
    const fas_group* g = r.group_by_name(group);
    if (g == nullptr) return false;
    const fas_role* role = r.role_in(p, g->id);
    return role != nullptr && role->role_status == fas_role_status::approved;
}

bool fas_application::impl::undeprecated_cla(const fas_directory::reader& r, const fas_person& p)
{
    int n = 0;
    for (const auto& role : p.roles) {
        if (role.role_status != fas_role_status::approved) continue;
        const fas_group* g = r.group_by_id(role.group_id);
        if (g != nullptr && g->group_type == "cla" && g->name != deprecated_cla) ++n;
    }
    return n >= 2;
}

bool fas_application::impl::can_admin_group(const call& c, const fas_directory::reader& r,
                                            const fas_group& g) const
{
    if (c.priv.admin) return true;
    const fas_person* me = r.person_by_id(c.user_id);
    if (me == nullptr) return false;
    const fas_role* role = r.role_in(*me, g.id);
    return role != nullptr && role->role_status == fas_role_status::approved &&
           role->role_type == fas_role_type::administrator;
}

bool fas_application::impl::can_view_group(const call& c, const fas_directory::reader& r,
                                           const fas_group& g) const
{
    // privileged_view_groups = (^fas-.*)
    if (!g.name.starts_with("fas-")) return true;
    return can_admin_group(c, r, g);
}

// ---------------------------------------------------------------------------------------
// handlers: root
// ---------------------------------------------------------------------------------------

reply fas_application::impl::h_index(call& c)
{
    if (c.identified()) {
        if (!c.want_json) return redirect(c, "/home", std::nullopt);
        json::object o;
        return json_reply(c, o);
    }
    std::string now = ctime_utc(c.now_us);
    if (!c.want_json)
        return html_reply(c, "Welcome", "<p>The time is " + html_escape(now) + ".</p>");
    json::object o;
    o.emplace("now", json::string_view(now));
    return json_reply(c, o);
}

reply fas_application::impl::h_login(call& c)
{
    if (!(c.login_attempted && c.login_succeeded)) return login_required(c);
    c.flash = "Welcome, " + c.user_name;
    if (!c.want_json) {
        std::string_view fwd = c.arg_or("forward_url", "");
        // Only paths inside the application: no open redirect.
        std::string target = "/home";
        if (fwd.starts_with(prm.mount_prefix + "/")) target = std::string(fwd.substr(prm.mount_prefix.size()));
        return redirect(c, target, c.flash);
    }
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    auto r = dir->read();
    const fas_person* me = r.person_by_id(c.user_id);
    if (me == nullptr) fail(500, "the account disappeared");
    json::object user(sp);
    put_person_fields(user, *me, view_level::self, false);
    json::array approved(sp), unapproved(sp), all(sp), roles(sp), group_roles(sp), groups(sp);
    for (const auto& role : me->roles) {
        const fas_group* g = r.group_by_id(role.group_id);
        if (g == nullptr) continue;
        bool ok = role.role_status == fas_role_status::approved;
        (ok ? approved : unapproved).emplace_back(group_object(*g, sp));
        all.emplace_back(group_object(*g, sp));
        roles.emplace_back(role_object(role, me->id, sp));
        group_roles.emplace_back(json::string_view(g->name));
        if (ok) groups.emplace_back(json::string_view(g->name));
    }
    user.emplace("approved_memberships", std::move(approved));
    user.emplace("unapproved_memberships", std::move(unapproved));
    user.emplace("memberships", std::move(all));
    user.emplace("roles", std::move(roles));
    user.emplace("group_roles", std::move(group_roles));
    user.emplace("groups", std::move(groups));
    json::object o(sp);
    o.emplace("user", std::move(user));
    return json_reply(c, o);
}

reply fas_application::impl::h_logout(call& c)
{
    // No CSRF check: logout deletes the visit's identity link unconditionally.
    if (c.visit) c.visit->user_id.store(0, std::memory_order_relaxed);
    c.user_id = 0;
    c.flash = "You have successfully logged out.";
    if (!c.want_json) return redirect(c, "/", c.flash);
    json::object o;
    return json_reply(c, o);
}

reply fas_application::impl::h_home(call& c)
{
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    auto r = dir->read();
    const fas_person* me = r.person_by_id(c.user_id);
    if (me == nullptr) fail(500, "the account disappeared");
    bool cla = undeprecated_cla(r, *me);
    if (!c.want_json)
        return html_reply(c, "Home", "<p>Welcome, " + html_escape(me->human_name) + ".</p>");
    json::object o(sp);
    o.emplace("person", person_private(r, *me, level_for(c, *me), c.priv.thirdparty, sp));
    json::array memberships(sp);
    for (const auto& role : me->roles)
        if (const fas_group* g = r.group_by_id(role.group_id))
            memberships.emplace_back(group_object(*g, sp));
    o.emplace("memberships", std::move(memberships));
    o.emplace("cla", cla);
    return json_reply(c, o);
}

reply fas_application::impl::h_json_index(call& c)
{
    json::object o;
    o.emplace("help", "This is a JSON interface.");
    return json_reply(c, o);
}

reply fas_application::impl::h_fpca(call& c)
{
    // HTML only (no allow_json): a JSON client gets a page it cannot decode.
    return html_reply(c, "Fedora Project Contributor Agreement",
                      "<p>You have not signed the FPCA yet.</p>");
}

reply fas_application::impl::h_gencert(call& c)
{
    return html_reply(c, "Certificates",
                      "<p><a href=\"" + html_escape(prm.mount_prefix) +
                          "/user/dogencert\">Download a client certificate</a></p>");
}

// ---------------------------------------------------------------------------------------
// handlers: json controller
// ---------------------------------------------------------------------------------------

reply fas_application::impl::h_person_by(call& c, bool by_id)
{
    auto r = dir->read();
    const fas_person* p = nullptr;
    if (by_id) {
        auto id = parse_int(c.required("person_id"));
        if (!id) fail(500, "DataError: invalid input syntax for integer");
        p = r.person_by_id(*id);
    } else {
        p = r.person_by_username(c.required("username"));
    }
    if (p == nullptr) {
        json::object o;
        o.emplace("success", false);
        return json_reply(c, o);
    }
    const view_level level = level_for(c, *p);
    const auto key = person_json_cache::key(p->id, level, c.priv.thirdparty);
    std::string body = "{\"success\":true,\"person\":";
    if (!person_cache.append_to(body, key, r.generation())) {
        unsigned char buf[16384];
        json::monotonic_resource mr(buf, sizeof buf);
        json::storage_ptr sp(&mr);
        json::object person = person_private(r, *p, level, c.priv.thirdparty, sp);
        put_membership_lists(person, r, *p);
        std::string text;
        append_json(text, person);
        body += text;
        person_cache.store(key, r.generation(), std::move(text));
    }
    return json_text(c, std::move(body));
}

reply fas_application::impl::h_group_by(call& c, bool by_id)
{
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    auto r = dir->read();
    const fas_group* g = nullptr;
    if (by_id) {
        auto id = parse_int(c.required("group_id"));
        if (!id) fail(500, "DataError: invalid input syntax for integer");
        g = r.group_by_id(*id);
    } else {
        g = r.group_by_name(c.required("groupname"));
    }
    json::object o(sp);
    if (g == nullptr) {
        o.emplace("success", false);
        return json_reply(c, o);
    }
    json::object group = group_object(*g, sp);
    json::array approved(sp), unapproved(sp);
    const auto people = r.people();
    for (auto idx : r.members(*g)) {
        const fas_person& p = people[idx];
        const fas_role* role = r.role_in(p, g->id);
        if (role == nullptr) continue;
        (role->role_status == fas_role_status::approved ? approved : unapproved)
            .emplace_back(role_object(*role, p.id, sp));
    }
    group.emplace("approved_roles", std::move(approved));
    group.emplace("unapproved_roles", std::move(unapproved));
    o.emplace("success", true);
    o.emplace("group", std::move(group));
    return json_reply(c, o);
}

reply fas_application::impl::h_user_id(call& c)
{
    auto r = dir->read();
    std::string out = "{\"people\":{";
    out.reserve(r.people().size() * 24 + 64);
    bool first = true;
    char num[24];
    for (const auto& p : r.people()) {
        if (!first) out += ',';
        first = false;
        out += '"';
        auto res = std::to_chars(num, num + sizeof num, p.id);
        out.append(num, res.ptr);
        out += "\":";
        append_json_string(out, p.username);
    }
    out += '}';
    return json_text(c, std::move(out));
}

reply fas_application::impl::h_people_query(call& c)
{
    // column -> (table, how to read it). Tables: people, person_roles, groups.
    enum class tbl : std::uint8_t { people, roles, groups };
    struct column
    {
        std::string_view name;
        tbl table;
    };
    static constexpr column columns_map[] = {
        {"id", tbl::people}, {"username", tbl::people}, {"email", tbl::people},
        {"ircnick", tbl::people}, {"status", tbl::people}, {"group", tbl::groups},
        {"group_type", tbl::groups}, {"role_status", tbl::roles}, {"role_type", tbl::roles},
        {"role_approval", tbl::roles},
    };
    auto lookup = [](std::string_view n) -> const column* {
        for (const auto& col : columns_map)
            if (col.name == n) return &col;
        return nullptr;
    };
    auto soft_fail = [&](std::string_view error) {
        json::object o;
        o.emplace("success", false);
        o.emplace("error", json::string_view(error));
        o.emplace("data", json::object());
        return json_reply(c, o);
    };

    std::vector<const column*> cols;
    std::string_view columns = c.arg_or("columns", "");
    if (columns.empty()) {
        for (auto n : {"id", "username", "email", "ircnick", "status"}) cols.push_back(lookup(n));
    } else {
        while (true) {
            auto comma = columns.find(',');
            const column* col = lookup(columns.substr(0, comma));
            if (col == nullptr) return soft_fail("Invalid column requested.");
            cols.push_back(col);
            if (comma == std::string_view::npos) break;
            columns = columns.substr(comma + 1);
        }
    }
    struct constraint
    {
        const column* col;
        like_matcher match;
    };
    std::vector<constraint> cons;
    bool join = false;
    for (const param* p : c.extra) {
        const column* col = lookup(p->name);
        if (col == nullptr) return soft_fail("Invalid constraint specified.");
        // LIKE on an integer or timestamp column is a PostgreSQL error.
        if (col->name == "id" || col->name == "role_approval")
            fail(500, "ProgrammingError: operator does not exist: " + std::string(col->name) + " ~~ unknown");
        for (const auto& other : cons)
            if (other.col == col) fail(500, "ProgrammingError: a list was given for a constraint");
        cons.push_back({col, like_matcher(p->value)});
        if (col->name == "group" || col->name == "group_type" || col->name == "role_status" ||
            col->name == "role_type")
            join = true;
    }
    bool need_roles = false, need_groups = false;
    for (const auto* col : cols) {
        need_roles |= col->table == tbl::roles;
        need_groups |= col->table == tbl::groups;
    }
    for (const auto& k : cons) {
        need_roles |= k.col->table == tbl::roles;
        need_groups |= k.col->table == tbl::groups;
    }

    auto r = dir->read();
    const auto people = r.people();
    const auto groups = r.groups();
    std::string approval_text;
    auto value_of = [&](const column* col, const fas_person& p, const fas_role* role,
                        const fas_group* g) -> std::optional<std::string_view> {
        std::string_view n = col->name;
        if (n == "username") return p.username;
        if (n == "email") return p.email;
        if (n == "ircnick") return p.ircnick ? std::optional<std::string_view>(*p.ircnick) : std::nullopt;
        if (n == "status") return to_string(p.status);
        if (n == "group") return g ? std::optional<std::string_view>(g->name) : std::nullopt;
        if (n == "group_type") return g ? std::optional<std::string_view>(g->group_type) : std::nullopt;
        if (n == "role_status") return role ? std::optional<std::string_view>(to_string(role->role_status)) : std::nullopt;
        if (n == "role_type") return role ? std::optional<std::string_view>(to_string(role->role_type)) : std::nullopt;
        return std::nullopt;
    };

    std::string out = "{\"success\":true,\"data\":[";
    std::size_t rows = 0;
    // People constraints are checked once per person, before any join or cross product, so
    // the loops below only ever run for matching people.
    auto person_matches = [&](const fas_person& p) {
        for (const auto& k : cons) {
            if (k.col->table != tbl::people) continue;
            auto v = value_of(k.col, p, nullptr, nullptr);
            if (!v || !k.match(*v)) return false;
        }
        return true;
    };
    auto emit = [&](const fas_person& p, const fas_role* role, const fas_group* g) {
        for (const auto& k : cons) {
            if (k.col->table == tbl::people) continue;
            auto v = value_of(k.col, p, role, g);
            if (!v || !k.match(*v)) return;
        }
        if (++rows > prm.max_query_rows) fail(500, "the query produced too many rows");
        if (rows > 1) out += ',';
        out += '{';
        bool first = true;
        for (const auto* col : cols) {
            if (!first) out += ',';
            first = false;
            append_json_string(out, col->name);
            out += ':';
            if (col->name == "id") {
                out += std::to_string(p.id);
            } else if (col->name == "role_approval") {
                if (role && role->approval) append_json_string(out, format_fas_time(*role->approval));
                else out += "null";
            } else if (auto v = value_of(col, p, role, g)) {
                append_json_string(out, *v);
            } else {
                out += "null";
            }
        }
        out += '}';
    };
    for (const auto& p : people) {
        if (!person_matches(p)) continue;
        if (join) {
            // people JOIN person_roles JOIN groups
            for (const auto& role : p.roles) emit(p, &role, r.group_by_id(role.group_id));
        } else if (need_roles) {
            // Unjoined: FROM people, person_roles[, groups] -- a cross product.
            for (const auto& rp : people)
                for (const auto& role : rp.roles) {
                    if (need_groups)
                        for (const auto& g : groups) emit(p, &role, &g);
                    else
                        emit(p, &role, nullptr);
                }
        } else if (need_groups) {
            for (const auto& g : groups) emit(p, nullptr, &g);
        } else {
            emit(p, nullptr, nullptr);
        }
    }
    out += ']';
    return json_text(c, std::move(out));
}

reply fas_application::impl::h_fas_client(call& c)
{
    std::string_view data = c.required("data");
    bool system = c.priv.admin || c.priv.system;
    bool thirdparty = system || c.priv.thirdparty;
    auto r = dir->read();
    if (data == "group_data") {
        std::string out = "{\"success\":true,\"data\":{";
        const auto people = r.people();
        bool first = true;
        std::vector<std::int64_t> lists[3];
        for (const auto& g : r.groups()) {
            for (auto& l : lists) l.clear();
            for (auto idx : r.members(g)) {
                const fas_role* role = r.role_in(people[idx], g.id);
                if (role == nullptr || role->role_status != fas_role_status::approved) continue;
                std::size_t slot = role->role_type == fas_role_type::administrator ? 0
                                 : role->role_type == fas_role_type::sponsor       ? 1
                                                                                   : 2;
                lists[slot].push_back(people[idx].id);
            }
            if (!first) out += ',';
            first = false;
            append_json_string(out, g.name);
            out += ":{\"id\":" + std::to_string(g.id);
            static constexpr std::string_view names[] = {"administrators", "sponsors", "users"};
            for (std::size_t i = 0; i < 3; ++i) {
                out += ",\"";
                out += names[i];
                out += "\":[";
                for (std::size_t k = 0; k < lists[i].size(); ++k) {
                    if (k) out += ',';
                    out += std::to_string(lists[i][k]);
                }
                out += ']';
            }
            out += ",\"type\":";
            append_json_string(out, g.group_type);
            out += '}';
        }
        out += '}';
        return json_text(c, std::move(out));
    }
    if (data == "user_data") {
        std::string out = "{\"success\":true,\"data\":{";
        out.reserve(r.people().size() * 200);
        bool first = true;
        for (const auto& p : r.people()) {
            if (p.status != fas_account_status::active) continue;
            if (!first) out += ',';
            first = false;
            out += '"' + std::to_string(p.id) + "\":{\"username\":";
            append_json_string(out, p.username);
            out += ",\"password\":";
            append_json_string(out, system ? std::string_view(p.password) : "*");
            out += ",\"human_name\":";
            append_json_string(out, p.privacy ? p.username : p.human_name);
            out += ",\"ssh_key\":";
            if (!thirdparty) out += "\"\"";
            else if (p.ssh_key) append_json_string(out, *p.ssh_key);
            else out += "null";
            out += ",\"email\":";
            append_json_string(out, p.email);
            out += ",\"alias_enabled\":";
            out += p.alias_enabled ? "true" : "false";
            out += '}';
        }
        out += '}';
        return json_text(c, std::move(out));
    }
    json::object o;
    o.emplace("success", false);
    o.emplace("data", json::object());
    return json_reply(c, o);
}

// ---------------------------------------------------------------------------------------
// handlers: user controller
// ---------------------------------------------------------------------------------------

reply fas_application::impl::h_user_view(call& c)
{
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    auto r = dir->read();
    std::string_view username = c.arg_or("username", c.user_name);
    const fas_person* p = r.person_by_username(username);
    if (p == nullptr) {
        // User.error has no allow_json: an HTML page with status 200, even for JSON clients.
        return html_reply(c, "Error", "<p>" + html_escape("'" + std::string(username) +
                                                          "' does not exist.") + "</p>");
    }
    if (!c.want_json)
        return html_reply(c, p->username, "<p>" + html_escape(p->human_name) + "</p>");
    json::object person = person_private(r, *p, level_for(c, *p), c.priv.thirdparty, sp);
    put_membership_lists(person, r, *p);
    json::object o(sp);
    o.emplace("person", std::move(person));
    o.emplace("cla", in_group_approved(r, *p, group_cla_done));
    o.emplace("undeprecated", undeprecated_cla(r, *p));
    o.emplace("personal", p->id == c.user_id);
    o.emplace("admin", c.priv.admin);
    o.emplace("modo", c.priv.modo);
    o.emplace("can_update", false);
    json::object show(sp);
    show.emplace("show_postal_address", 0);
    o.emplace("show", std::move(show));
    return json_reply(c, o);
}

reply fas_application::impl::h_user_list(call& c)
{
    std::string_view search = c.arg_or("search", "a*");
    if (search.empty()) search = "*";
    const std::string pattern = fas_pattern(search);
    const bool wildcard = pattern.find('%') != std::string::npos;
    const like_matcher ilike(pattern, true);

    std::optional<std::int64_t> limit;
    if (auto l = c.arg("limit"); l && !l->empty()) {
        limit = parse_int(*l);
        if (!limit || *limit < 0) fail(500, "DataError: LIMIT must be a non-negative integer");
    }
    auto truthy = [](std::optional<std::string_view> v) {
        return v && (iequals(*v, "1") || iequals(*v, "true"));
    };
    const bool by_email = truthy(c.arg("by_email"));
    const bool by_ircnick = !by_email && truthy(c.arg("by_ircnick"));
    std::optional<std::string_view> status = c.arg("status");
    if (status && status->empty()) status.reset();

    // Requested fields: person columns or the three relation keys.
    const auto fields = [&] {
        std::vector<std::string_view> v;
        if (const auto* b = c.find_arg("fields"))
            for (auto f : b->values)
                if (std::find(v.begin(), v.end(), f) == v.end()) v.push_back(f);
        return v;
    }();
    for (auto f : fields) {
        if (!is_person_field(f) && f != "group_roles" && f != "memberships" && f != "roles")
            return app_error(c, "Invalid", "Invalid field specified: " + std::string(f));
    }
    const bool all_fields = fields.empty();

    auto r = dir->read();
    const fas_group* cla_group = r.group_by_name(group_cla_done);
    const auto people = r.people();

    auto matches = [&](const fas_person& p) {
        if (status && to_string(p.status) != *status) return false;
        std::string_view col = p.username;
        if (by_email) col = p.email;
        else if (by_ircnick) {
            if (!p.ircnick) return false;
            col = *p.ircnick;
        }
        return wildcard ? ilike(col) : col == pattern;
    };

    std::vector<std::uint32_t> hits;
    if (!wildcard && !by_email && !by_ircnick) {
        if (const fas_person* p = r.person_by_username(pattern))
            if (matches(*p)) hits.push_back(static_cast<std::uint32_t>(p - people.data()));
    } else {
        for (std::uint32_t i = 0; i < people.size(); ++i)
            if (matches(people[i])) hits.push_back(i);
    }

    if (!c.want_json) {
        std::string inner = "<ul>\n";
        std::size_t shown = 0;
        for (auto i : hits) {
            if (++shown > 100) break; // the HTML page shows 100
            inner += "<li>" + html_escape(people[i].username) + "</li>\n";
        }
        inner += "</ul>";
        if (hits.empty()) c.flash = "No users found matching '" + std::string(search) + "'";
        return html_reply(c, "Users", inner);
    }

    std::string approved_out, unapproved_out;
    std::int64_t rows_left = limit.value_or(INT64_MAX);
    unsigned char buf[32768];
    for (auto i : hits) {
        if (rows_left <= 0) break;
        const fas_person& p = people[i];
        // LIMIT counts person x role rows of the LEFT JOIN, so a person can lose roles.
        std::size_t nroles = p.roles.size();
        auto rows = std::min(static_cast<std::int64_t>(std::max<std::size_t>(nroles, 1)), rows_left);
        rows_left -= rows;
        if (nroles != 0) nroles = static_cast<std::size_t>(rows);

        json::monotonic_resource mr(buf, sizeof buf);
        json::storage_ptr sp(&mr);
        const view_level level = (c.priv.admin || c.priv.system) ? view_level::admin
                                 : p.id == c.user_id             ? view_level::self
                                 : p.privacy                     ? view_level::privacy
                                                                 : view_level::pub;
        auto relation = [&](std::string_view key) -> json::value {
            if (nroles == 0 && prm.quirks.roleless_null_membership) {
                if (key == "group_roles") {
                    json::object o(sp);
                    o.emplace("null", null_role_object(sp));
                    return o;
                }
                json::array a(sp);
                a.emplace_back(key == "memberships" ? null_group_object(sp) : null_role_object(sp));
                return a;
            }
            if (key == "group_roles") {
                json::object o(sp);
                for (std::size_t k = 0; k < nroles; ++k)
                    if (const fas_group* g = r.group_by_id(p.roles[k].group_id))
                        o.emplace(g->name, role_object(p.roles[k], p.id, sp));
                return o;
            }
            json::array a(sp);
            for (std::size_t k = 0; k < nroles; ++k) {
                if (key == "roles") {
                    a.emplace_back(role_object(p.roles[k], p.id, sp));
                } else if (const fas_group* g = r.group_by_id(p.roles[k].group_id)) {
                    a.emplace_back(group_object(*g, sp));
                }
            }
            return a;
        };
        json::object o(sp);
        if (all_fields) {
            put_person_fields(o, p, level, c.priv.thirdparty);
            for (auto key : {"group_roles", "memberships", "roles"}) o.emplace(key, relation(key));
        } else {
            for (auto f : fields) {
                if (f == "group_roles" || f == "memberships" || f == "roles") o.emplace(f, relation(f));
                else put_person_field(o, f, p, level, c.priv.thirdparty);
            }
        }
        const fas_role* cla = cla_group ? r.role_in(p, cla_group->id) : nullptr;
        std::string& out = (cla && cla->role_status == fas_role_status::approved) ? approved_out
                                                                                  : unapproved_out;
        if (!out.empty()) out += ',';
        append_json(out, o);
    }
    if (hits.empty()) c.flash = "No users found matching '" + std::string(search) + "'";
    std::string body = "{\"people\":[";
    body.reserve(approved_out.size() + unapproved_out.size() + 128);
    body += approved_out;
    body += "],\"unapproved_people\":[";
    body += unapproved_out;
    body += "],\"search\":";
    append_json_string(body, search);
    return json_text(c, std::move(body));
}

reply fas_application::impl::h_user_dump(call& c)
{
    std::string_view search = c.arg_or("search", "a*");
    std::string_view groups_arg = c.arg_or("groups", "");
    auto r = dir->read();
    std::vector<std::int64_t> group_ids;
    while (!groups_arg.empty()) {
        auto comma = groups_arg.find(',');
        std::string_view name = groups_arg.substr(0, comma);
        groups_arg = comma == std::string_view::npos ? std::string_view{} : groups_arg.substr(comma + 1);
        if (name.starts_with('@')) {
            std::string_view type = name.substr(1);
            for (const auto& g : r.groups())
                if (type == "all" ? g.group_type != "cla" : g.group_type == type)
                    group_ids.push_back(g.id);
        } else if (const fas_group* g = r.group_by_name(name)) {
            group_ids.push_back(g->id);
        }
    }
    std::sort(group_ids.begin(), group_ids.end());
    group_ids.erase(std::unique(group_ids.begin(), group_ids.end()), group_ids.end());

    std::string out = "{\"people\":[";
    bool first = true;
    const auto people = r.people();
    for (auto idx : r.people_sorted_by_username()) {
        const fas_person& p = people[idx];
        if (p.status != fas_account_status::active) continue;
        bool member = false;
        for (const auto& role : p.roles)
            if (role.role_status == fas_role_status::approved &&
                std::binary_search(group_ids.begin(), group_ids.end(), role.group_id))
                member = true;
        if (!member) continue;
        json::monotonic_resource mr;
        json::storage_ptr sp(&mr);
        json::object full(sp);
        put_person_fields(full, p, level_for(c, p), c.priv.thirdparty);
        json::object o(sp);
        for (auto k : {"username", "id", "ssh_key", "human_name", "password"}) o.emplace(k, full.at(k));
        if (!first) out += ',';
        first = false;
        append_json(out, o);
    }
    out += "],\"unapproved_people\":[],\"search\":";
    append_json_string(out, search);
    if (!c.want_json) return html_reply(c, "User dump", "<pre>" + html_escape(out) + "</pre>");
    return json_text(c, std::move(out));
}

reply fas_application::impl::h_dogencert(call& c)
{
    if (!prm.gencert) {
        json::object o;
        return json_reply(c, o);
    }
    std::string username, email;
    bool cla = false;
    std::int64_t id = c.user_id;
    {
        auto r = dir->read();
        const fas_person* me = r.person_by_id(id);
        if (me == nullptr) fail(500, "the account disappeared");
        username = me->username;
        email = me->email;
        cla = in_group_approved(r, *me, group_cla_done);
    }
    if (!cla) {
        // Only a literal tg_format=json gets {"cla": false}; Accept-only clients are sent to
        // the HTML FPCA page.
        if (c.tg_format_json) {
            json::object o;
            o.emplace("cla", false);
            return json_reply(c, o);
        }
        return redirect(c, "/fpca/",
                        std::string("Before generating a certificate, you must first complete the FPCA."));
    }
    pem_pair ca;
    {
        std::lock_guard lock(ca_mutex);
        if (!client_ca) client_ca = make_ca("Fedora Account System emulator client CA");
        ca = *client_ca;
    }
    cert_request req;
    req.common_name = username;
    req.email = email;
    pem_pair cert = make_certificate(ca, req);
    dir->bump_certificate_serial(id); // earlier certificates with this CN count as revoked
    if (!c.want_json)
        return html_reply(c, "Certificate", "<pre>" + html_escape(cert.cert_pem) + "</pre>");
    json::object o;
    o.emplace("cla", true);
    o.emplace("cert", json::string_view(cert.cert_pem));
    o.emplace("key", json::string_view(cert.key_pem));
    return json_reply(c, o);
}

// ---------------------------------------------------------------------------------------
// handlers: group controller
// ---------------------------------------------------------------------------------------

reply fas_application::impl::h_group_dump(call& c)
{
    auto r = dir->read();
    const auto people = r.people();
    const fas_group* g = nullptr;
    auto groupname = c.arg("groupname");
    if (groupname) g = r.group_by_name(*groupname);
    const bool admin_view = c.priv.admin || c.priv.system;

    struct row
    {
        const fas_person* p;
        std::string_view role_type;
        std::int64_t sponsored;
    };
    std::vector<row> rows;
    if (groupname) {
        if (g != nullptr) {
            for (auto idx : r.members(*g)) {
                const fas_role* role = r.role_in(people[idx], g->id);
                if (role == nullptr || role->role_status != fas_role_status::approved) continue;
                rows.push_back({&people[idx], to_string(role->role_type), 0});
            }
            // sponsored = roles in this group (any status) naming the person as sponsor
            std::unordered_map<std::int64_t, std::int64_t> counts;
            for (auto idx : r.members(*g))
                if (const fas_role* role = r.role_in(people[idx], g->id); role && role->sponsor_id)
                    ++counts[*role->sponsor_id];
            for (auto& rw : rows)
                if (auto it = counts.find(rw.p->id); it != counts.end()) rw.sponsored = it->second;
            std::sort(rows.begin(), rows.end(),
                      [](const row& a, const row& b) { return a.p->username < b.p->username; });
        }
    } else {
        std::unordered_map<std::int64_t, std::int64_t> counts;
        for (const auto& p : people)
            for (const auto& role : p.roles)
                if (role.sponsor_id) ++counts[*role.sponsor_id];
        rows.reserve(people.size());
        for (auto idx : r.people_sorted_by_username()) {
            auto it = counts.find(people[idx].id);
            rows.push_back({&people[idx], "user", it == counts.end() ? 0 : it->second});
        }
    }

    auto shown_name = [&](const fas_person& p) -> std::string_view {
        if (p.privacy && !admin_view && p.id != c.user_id) return "";
        return p.human_name;
    };
    if (!c.want_json) {
        std::string out;
        out.reserve(rows.size() * 64);
        for (const auto& rw : rows) {
            out.append(rw.p->username).append(",").append(rw.p->email).append(",");
            out.append(shown_name(*rw.p)).append(",").append(rw.role_type).append(",");
            out.append(std::to_string(rw.sponsored)).append("\n");
        }
        reply rep;
        rep.content_type = content_text;
        rep.body = std::move(out);
        return rep;
    }
    std::string out = "{\"people\":[";
    out.reserve(rows.size() * 80 + 64);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& rw = rows[i];
        if (i) out += ',';
        out += '[';
        append_json_string(out, rw.p->username);
        out += ',';
        append_json_string(out, rw.p->email);
        out += ',';
        append_json_string(out, shown_name(*rw.p));
        out += ',';
        append_json_string(out, rw.role_type);
        out += ',';
        out += std::to_string(rw.sponsored);
        out += ']';
    }
    out += ']';
    return json_text(c, std::move(out));
}

reply fas_application::impl::h_group_list(call& c)
{
    std::string_view search = c.arg_or("search", "*");
    auto wm = c.arg("with_members");
    const bool with_members = !wm || !wm->empty(); // any non-empty string, "false" included
    const std::string pattern = fas_pattern(search);
    const like_matcher like(pattern);

    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    auto r = dir->read();
    const auto all_groups = r.groups();
    std::vector<const fas_group*> found;
    for (auto idx : r.groups_sorted_by_name()) {
        const fas_group& g = all_groups[idx];
        if (!like(g.name)) continue;
        if (!can_view_group(c, r, g)) continue;
        found.push_back(&g);
    }
    if (found.empty()) c.flash = "No Groups found matching '" + std::string(search) + "'";

    if (c.tg_format_json && !with_members && found.size() == 1 && found[0]->name == search)
        return redirect(c, "/group/view/" + pct_encode(found[0]->name), std::nullopt);

    if (!c.want_json) {
        std::string inner = "<ul>\n";
        for (const auto* g : found)
            inner += "<li>" + html_escape(g->name) + " - " + html_escape(g->display_name) + "</li>\n";
        inner += "</ul>";
        return html_reply(c, "Groups", inner);
    }
    json::object o(sp);
    json::array groups(sp);
    groups.reserve(found.size());
    for (const auto* g : found) groups.emplace_back(group_object(*g, sp));
    o.emplace("groups", std::move(groups));
    o.emplace("search", json::string_view(search));
    // Group.jsonRequest() looks at the tg_format parameter only, not at Accept.
    if (!c.tg_format_json) {
        o.emplace("memberships", json::object(sp));
    } else if (!with_members) {
        o.emplace("memberships", json::array(sp));
    } else {
        json::object memberships(sp);
        const auto people = r.people();
        for (const auto& g : all_groups) {
            json::array list(sp);
            for (auto idx : r.members(g)) {
                const fas_role* role = r.role_in(people[idx], g.id);
                if (role == nullptr || role->role_status != fas_role_status::approved) continue;
                json::object m(sp);
                m.emplace("person_id", people[idx].id);
                m.emplace("role_type", json::string_view(to_string(role->role_type)));
                list.emplace_back(std::move(m));
            }
            if (!list.empty()) memberships.emplace(std::to_string(g.id), std::move(list));
        }
        o.emplace("memberships", std::move(memberships));
    }
    return json_reply(c, o);
}

reply fas_application::impl::h_group_create(call& c)
{
    auto name = c.arg("name");
    auto display_name = c.arg("display_name");
    auto owner = c.arg("owner");
    auto group_type = c.arg("group_type");
    std::string_view prerequisite = c.arg_or("prerequisite", "");

    fas_group g;
    {
        auto r = dir->read();
        bool valid = name && display_name && owner && group_type && !display_name->empty();
        if (valid) {
            valid = name->size() >= 3 && name->size() <= 32 &&
                    std::all_of(name->begin(), name->end(), [](char ch) {
                        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                               ch == '-' || ch == '_';
                    }) &&
                    r.group_by_name(*name) == nullptr && r.person_by_username(*name) == nullptr;
        }
        const fas_person* owner_p = valid ? r.person_by_username(*owner) : nullptr;
        valid = valid && owner_p != nullptr;
        const auto types = fas_group_types();
        valid = valid && std::find(types.begin(), types.end(), *group_type) != types.end();
        const fas_group* prereq = nullptr;
        if (valid && !prerequisite.empty()) {
            prereq = r.group_by_name(prerequisite);
            valid = prereq != nullptr;
        }
        if (!valid) return silent_validation_failure(c);

        if (!(c.priv.admin || c.priv.sysadmin))
            return redirect(c, "/", std::string("Only FAS administrators can create groups."));

        auto flag = [&](std::string_view key, bool def) {
            auto v = c.arg(key);
            if (!v) return def;
            if (prm.quirks.nonempty_string_is_true) return !v->empty(); // FormEncode Bool
            std::string lv = ascii_lower(*v);
            return !(lv.empty() || lv == "0" || lv == "false" || lv == "no" || lv == "off");
        };
        g.name = std::string(*name);
        g.display_name = std::string(*display_name);
        g.owner_id = owner_p->id;
        g.group_type = std::string(*group_type);
        g.invite_only = flag("invite_only", false);
        g.needs_sponsor = flag("needs_sponsor", false);
        g.user_can_remove = flag("user_can_remove", true);
        if (prereq != nullptr) g.prerequisite_id = prereq->id;
        g.joinmsg = std::string(c.arg_or("joinmsg", ""));
        g.apply_rules = std::string(c.arg_or("apply_rules", "None"));
        g.creation = as_time(c.now_us);
    }
    std::string created = g.name;
    if (!dir->create_group(std::move(g), c.user_id)) return silent_validation_failure(c); // lost a race
    return redirect(c, "/group/view/" + pct_encode(created),
                    "The group: '" + created + "' has been created.");
}

reply fas_application::impl::h_group_view(call& c)
{
    auto name = c.arg("groupname");
    auto order_by = c.arg_or("order_by", "username");
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    auto r = dir->read();
    const fas_group* g = name ? r.group_by_name(*name) : nullptr;
    if (g == nullptr) return silent_validation_failure(c);
    if (!can_view_group(c, r, *g))
        return redirect(c, "/", "You cannot view '" + g->name + "'");
    (void)order_by;
    struct member
    {
        const fas_person* p;
        const fas_role* role;
    };
    std::vector<member> members;
    const auto people = r.people();
    for (auto idx : r.members(*g))
        if (const fas_role* role = r.role_in(people[idx], g->id)) members.push_back({&people[idx], role});
    std::sort(members.begin(), members.end(),
              [](const member& a, const member& b) { return a.p->username < b.p->username; });
    if (!c.want_json) {
        std::string inner = "<p>" + html_escape(g->display_name) + "</p>\n<ul>\n";
        for (const auto& m : members) inner += "<li>" + html_escape(m.p->username) + "</li>\n";
        inner += "</ul>";
        return html_reply(c, g->name, inner);
    }
    json::object o(sp);
    o.emplace("group", group_object(*g, sp));
    json::array queue(sp), all(sp);
    for (const auto& m : members) {
        if (m.role->role_status == fas_role_status::unapproved)
            queue.emplace_back(role_object(*m.role, m.p->id, sp));
        all.emplace_back(role_object(*m.role, m.p->id, sp));
    }
    o.emplace("sponsor_queue", std::move(queue));
    o.emplace("members", std::move(all));
    return json_reply(c, o);
}

reply fas_application::impl::h_group_members(call& c)
{
    auto name = c.arg("groupname");
    std::string_view search = c.arg_or("search", "a*");
    auto role_type = c.arg("role_type");
    std::string_view order_by = c.arg_or("order_by", "username");
    static constexpr std::string_view sort_keys[] = {"username", "sponsor", "role_type",
                                                     "role_status", "creation", "approval"};
    if (std::find(std::begin(sort_keys), std::end(sort_keys), order_by) == std::end(sort_keys))
        return silent_validation_failure(c); // "Invalid sort key."
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    auto r = dir->read();
    const fas_group* g = name ? r.group_by_name(*name) : nullptr;
    if (g == nullptr) return silent_validation_failure(c);
    if (!can_view_group(c, r, *g)) return redirect(c, "/", "You cannot view '" + g->name + "'");
    const std::string pattern = fas_pattern(search);
    const like_matcher like(pattern);
    struct member
    {
        const fas_person* p;
        const fas_role* role;
    };
    std::vector<member> members;
    const auto people = r.people();
    for (auto idx : r.members(*g)) {
        const fas_role* role = r.role_in(people[idx], g->id);
        if (role == nullptr || !like(people[idx].username)) continue;
        if (role_type && to_string(role->role_type) != *role_type) continue;
        members.push_back({&people[idx], role});
    }
    auto key = [&](const member& m) -> std::string {
        if (order_by == "sponsor") return m.role->sponsor_id ? std::to_string(*m.role->sponsor_id) : "";
        if (order_by == "role_type") return std::string(to_string(m.role->role_type));
        if (order_by == "role_status") return std::string(to_string(m.role->role_status));
        if (order_by == "creation") return format_fas_time(m.role->creation);
        if (order_by == "approval") return m.role->approval ? format_fas_time(*m.role->approval) : "";
        return m.p->username;
    };
    std::stable_sort(members.begin(), members.end(),
                     [&](const member& a, const member& b) { return key(a) < key(b); });
    if (!c.want_json) {
        std::string inner = "<ul>\n";
        for (const auto& m : members) inner += "<li>" + html_escape(m.p->username) + "</li>\n";
        inner += "</ul>";
        return html_reply(c, g->name, inner);
    }
    json::object o(sp);
    o.emplace("group", group_object(*g, sp));
    json::array list(sp);
    for (const auto& m : members) list.emplace_back(role_object(*m.role, m.p->id, sp));
    o.emplace("members", std::move(list));
    o.emplace("search", json::string_view(search));
    return json_reply(c, o);
}

// ---------------------------------------------------------------------------------------
// handlers: config controller
// ---------------------------------------------------------------------------------------

namespace {

// Config's validators: application must match ^[a-z0-9-_]+$.
std::optional<std::string> application_error(std::optional<std::string_view> app)
{
    if (!app || app->empty()) return std::string("application: Please enter a value");
    bool ok = std::all_of(app->begin(), app->end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    });
    if (!ok) return std::string("application: The input is not valid");
    return std::nullopt;
}

} // namespace

reply fas_application::impl::h_config_list(call& c)
{
    std::string_view username = c.required("username");
    auto application = c.arg("application");
    std::string_view search = c.arg_or("pattern", "*");
    if (auto err = application_error(application)) return app_error(c, "Invalid", *err);
    if (!(c.priv.admin || username == c.user_name))
        return app_error(c, "AuthorizationError",
                         "You cannot look at configs for " + std::string(username));
    const std::string pattern = fas_pattern(search);
    const like_matcher like(pattern);
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    auto r = dir->read();
    const fas_person* p = r.person_by_username(username);
    // The username validator is never registered, so the lookup itself fails.
    if (p == nullptr) fail(500, "InvalidRequestError: No rows returned for one()");
    json::object configs(sp);
    for (const auto& cfg : r.configs(*p)) {
        if (cfg.application != *application || !like(cfg.attribute)) continue;
        configs[cfg.attribute] = cfg.value ? json::value(json::string_view(*cfg.value), sp)
                                           : json::value(nullptr, sp);
    }
    if (!c.want_json) {
        std::string inner = "<dl>\n";
        for (const auto& kv : configs)
            inner += "<dt>" + html_escape(kv.key()) + "</dt><dd>" +
                     html_escape(kv.value().is_string() ? std::string_view(kv.value().get_string()) : "") +
                     "</dd>\n";
        inner += "</dl>";
        return html_reply(c, "Configs", inner);
    }
    json::object o(sp);
    o.emplace("username", json::string_view(username));
    o.emplace("application", json::string_view(*application));
    o.emplace("pattern", json::string_view(pattern));
    o.emplace("configs", std::move(configs));
    return json_reply(c, o);
}

reply fas_application::impl::h_config_set(call& c)
{
    std::string_view username = c.required("username");
    auto application = c.arg("application");
    std::string_view attribute = c.required("attribute");
    auto value = c.arg("value");
    std::string errors;
    {
        auto r = dir->read();
        if (r.person_by_username(username) == nullptr)
            errors = "username: '" + std::string(username) + "' does not exist.";
    }
    if (auto err = application_error(application)) {
        if (!errors.empty()) errors += '\n';
        errors += *err;
    }
    if (!errors.empty()) return app_error(c, "Invalid", std::move(errors));
    if (!(c.priv.admin || username == c.user_name))
        return app_error(c, "AuthorizationError",
                         "You cannot edit configs for " + std::string(username));
    if (std::find(std::begin(config_apps), std::end(config_apps), *application) == std::end(config_apps))
        return app_error(c, "DBAPIError",
                         "Error saving the config to the database: (IntegrityError) new row for "
                         "relation \"configs\" violates check constraint \"configs_application_check\"");
    if (!dir->set_config(username, *application, attribute,
                         value ? std::optional<std::string>(std::string(*value)) : std::nullopt))
        fail(500, "the account disappeared");
    c.flash = "Config value successfully updated";
    if (!c.want_json) return html_reply(c, "Configs", "");
    json::object o;
    return json_reply(c, o);
}

// ---------------------------------------------------------------------------------------

fas_application::fas_application(std::shared_ptr<fas_directory> directory, fas_app_params params)
{
    if (!directory) throw std::invalid_argument("fas_application: null directory");
    if (params.session_timeout <= std::chrono::seconds{0})
        throw std::invalid_argument("fas_application: session_timeout must be positive");
    if (!params.mount_prefix.empty() &&
        (params.mount_prefix.front() != '/' || params.mount_prefix.back() == '/'))
        throw std::invalid_argument("fas_application: mount_prefix must look like \"/accounts\"");
    impl_ = std::make_unique<impl>(std::move(directory), std::move(params));
}

fas_application::~fas_application() = default;

http_response fas_application::handle(const http_request& request, const request_context& context)
{
    try {
        return impl_->handle(request, context);
    } catch (...) {
        // Only reachable when even the error page could not be built (out of memory).
        http_response res;
        res.result(http::status::internal_server_error);
        return res;
    }
}

std::shared_ptr<fas_directory> fas_application::directory() const
{
    return impl_->dir;
}

std::size_t fas_application::session_count() const
{
    return impl_->sessions.size();
}

std::optional<std::int64_t> fas_application::session_user(std::string_view visit_key) const
{
    auto e = impl_->sessions.find(visit_key, impl_->now_us());
    if (!e) return std::nullopt;
    return e->user_id.load(std::memory_order_relaxed);
}

} // namespace fedora::emulator
