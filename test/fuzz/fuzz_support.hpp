// Shared by the fuzz targets and the seed generator: the tables of operations each target
// picks from with its first input byte, and reading an HTTP response out of raw bytes.
//
// Input format of the parser targets: byte 0 picks the operation (Bodhi: bit 0 the server
// version, the rest the operation), the remaining bytes are a whole HTTP/1.1 response
// (status line, headers, body) as a server would send it, so status codes, Set-Cookie and
// Location headers are fuzzed along with the body.
#pragma once

#include <fedora/bodhi/operations.hpp>
#include <fedora/fas/operations.hpp>
#include <fedora/http/client.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <string_view>
#include <tuple>
#include <utility>

namespace fuzz_support {

namespace fas_ops = fedora::fas::ops;
namespace bodhi_ops = fedora::bodhi::ops;

// Every FAS operation, with arguments that make build() succeed.
inline auto fas_operations()
{
    return std::tuple{
        fas_ops::login{"jdoe", "jdoe-pass"},
        fas_ops::logout{},
        fas_ops::refresh_session{},
        fas_ops::verify_home{},
        fas_ops::get_user_info{},
        fas_ops::proxy_person_by_id{.person_id = 100001},
        fas_ops::group_list_op{},
        fas_ops::send_request{.method = "json/user_id"},
        fas_ops::person_by_id{.person_id = 100001},
        fas_ops::person_by_username{.username = "jdoe"},
        fas_ops::group_by_id{.group_id = 100001},
        fas_ops::group_by_name{.groupname = "packager"},
        fas_ops::group_members{.groupname = "packager"},
        fas_ops::people_by_key{},
        fas_ops::user_id{},
        fas_ops::group_dump_all{},
        fas_ops::people_query{.constraints = {{"username", "j%"}}, .columns = {"username", "email"}},
        fas_ops::user_data{},
        fas_ops::group_data{},
        fas_ops::get_config{.username = "jdoe", .application = "myapp", .attribute = "color"},
        fas_ops::get_configs_like{.username = "jdoe", .application = "myapp"},
        fas_ops::set_config{.username = "jdoe", .application = "myapp", .attribute = "color", .value = "blue"},
        fas_ops::create_group{.name = "fuzzgroup", .display_name = "Fuzz", .owner = "admin", .group_type = "tracking"},
        fas_ops::user_gencert{},
        fas_ops::people_by_key{.key = "id"},
    };
}
using fas_table = decltype(fas_operations());
constexpr std::size_t fas_count = std::tuple_size_v<fas_table>;

// Every logical Bodhi operation (each version has a parser for each).
inline auto bodhi_operations()
{
    fedora::bodhi::update_fields fields;
    fields.builds = {"foo-1.0-1.fc22"};
    fields.notes = "notes";
    fedora::bodhi::comment_fields comment;
    comment.update = "foo-1.0-1.fc22";
    comment.text = "works";
    comment.karma = 1;
    fedora::bodhi::override_fields over;
    over.nvrs = {"foo-1.0-1.fc22"};
    over.notes = "n";
    over.expiration_date = "2015-10-01 00:00:00";
    return std::tuple{
        bodhi_ops::query_updates{},
        bodhi_ops::get_update{"foo-1.0-1.fc22"},
        bodhi_ops::save_update{fields},
        bodhi_ops::request_update{"foo-1.0-1.fc22", "stable"},
        bodhi_ops::comment{comment},
        bodhi_ops::delete_update{"foo-1.0-1.fc22"},
        bodhi_ops::releases{},
        bodhi_ops::latest_builds{"kernel"},
        bodhi_ops::candidate_tags{},
        bodhi_ops::critpath_updates{},
        bodhi_ops::save_override{over},
        bodhi_ops::query_overrides{},
        bodhi_ops::get_override{"foo-1.0-1.fc22"},
        bodhi_ops::expire_override{"foo-1.0-1.fc22", {}},
        bodhi_ops::query_packages{},
        bodhi_ops::query_comments{},
        bodhi_ops::login{},
        bodhi_ops::logout{},
    };
}
using bodhi_table = decltype(bodhi_operations());
constexpr std::size_t bodhi_count = std::tuple_size_v<bodhi_table>;

// Calls f(op) for the index-th element of a tuple.
template <class Tuple, class F>
void visit_at(Tuple& t, std::size_t index, F&& f)
{
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((I == index ? (void)f(std::get<I>(t)) : (void)0), ...);
    }(std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

// Reads one HTTP/1.1 response from `bytes` as the transport's parser would (the end of the
// bytes is the end of the stream). False when the bytes are no response at all.
inline bool read_response(std::string_view bytes, fedora::http::response& out)
{
    namespace bhttp = boost::beast::http;
    bhttp::response_parser<bhttp::string_body> p;
    p.eager(true);
    p.header_limit(64 * 1024);
    p.body_limit(1024 * 1024);
    fedora::error_code ec;
    std::size_t used = 0;
    while (!p.is_done()) {
        const std::size_t n = p.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        used += n;
        if (ec && ec != bhttp::error::need_more)
            return false;
        if (n == 0) {
            // No progress on the bytes left: they are all there is; the stream ends here.
            if (!p.got_some())
                return false;
            ec = {};
            p.put_eof(ec);
            if (ec || !p.is_done())
                return false;
            break;
        }
        ec = {};
    }
    out.message = p.release();
    return true;
}

} // namespace fuzz_support
