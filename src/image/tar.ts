/**
 * A streaming tar reader and writer for image layers (POSIX ustar, PAX and
 * the GNU extensions that real layers use). Memory stays bounded whatever
 * the archive size: entry bodies are streamed chunk by chunk, only headers
 * and extended-header records are buffered (capped at META_LIMIT).
 *
 * Reader: 512-byte headers with checksum verification, octal and base-256
 * numbers, the ustar prefix, GNU 'L'/'K' long names and links, PAX 'x' and
 * 'g' records parsed by their length (path, linkpath, size, uid, gid, uname,
 * gname, mtime with fractions, SCHILY.xattr.* and LIBARCHIVE.xattr.*), all
 * entry types. A missing end-of-archive block or a short header or body is
 * an INVALID_ARCHIVE error, never a silent end.
 *
 * Writer: ustar headers, with a PAX header in front when a value does not
 * fit (name or link over 100 bytes, ids over 2097151, size over 8 GiB,
 * user/group names over 32 bytes, xattrs); entries from a directory tree in
 * byte order of their names, so the same tree always gives the same bytes.
 *
 * Names are bytes in a tar; `name`/`linkname` are their UTF-8 decoding for
 * display, `nameBytes`/`linknameBytes` the exact bytes.
 *
 * Split into tar-header.ts (the header format), tar-reader.ts and
 * tar-writer.ts; this module re-exports their public API.
 */
export { encodeHeader, parseNumber, parsePax, type TarEntryType, type TarHeader, type TarHeaderInput } from "./tar-header.ts";
export { readTar, type ReadTarOptions, type TarEntry } from "./tar-reader.ts";
export { type AddTreeOptions, TarWriter } from "./tar-writer.ts";
