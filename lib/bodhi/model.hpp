// Private: reading Bodhi JSON leniently into the shared model, and small helpers both
// adapters use.
#pragma once

#include "../detail/json_read.hpp"

#include <fedora/bodhi/operations.hpp>

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace fedora::bodhi::detail {

using fedora::detail::json_read::flag;
using fedora::detail::json_read::num;
using fedora::detail::json_read::obj;
using fedora::detail::json_read::opt_num;
using fedora::detail::json_read::str;
const boost::json::array* arr(const boost::json::object& o, std::string_view key);

// The answer is not the expected shape: server_error with a snippet.
error_code wrong_shape(raw_reply& r, std::string what);

// The package name of an NVR (name-version-release): everything before the last two '-'.
std::string package_of_nvr(std::string_view nvr);

update bodhi1_update(const boost::json::object& o);
update bodhi2_update(const boost::json::object& o);
release bodhi1_release(const boost::json::object& o);
release bodhi2_release(const boost::json::object& o);
comment bodhi1_comment(const boost::json::object& o);
comment bodhi2_comment(const boost::json::object& o);
override_record bodhi1_override(const boost::json::object& o);
override_record bodhi2_override(const boost::json::object& o);
package bodhi2_package(const boost::json::object& o);
std::vector<caveat> caveats_of(const boost::json::object& o);

// Builds an operation_request for `fixed_path` plus raw path segments (each encoded as one
// segment; "", "." and ".." refused with invalid_argument).
operation_request make_request(boost::beast::http::verb method, std::string_view fixed_path,
                               std::initializer_list<std::string_view> segments = {});

// Pagination arguments: 1 <= page, 1 <= rows <= 100.
bool valid_paging(int page, int rows, operation_request& req);

// A page's shape from total and rows.
template <class T>
void set_paging(page<T>& p, int number, int rows, std::int64_t total)
{
    p.number = number;
    p.rows_per_page = rows;
    p.total = total;
    p.pages = rows > 0 ? static_cast<int>((total + rows - 1) / rows) : 0;
}

} // namespace fedora::bodhi::detail
