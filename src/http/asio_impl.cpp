// Asio and Beast are compiled once, here (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION are defined for every target): each
// translation unit that instantiates them costs ~20 s to compile.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
