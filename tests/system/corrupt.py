#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# corrupt.py: damage a migration stream or save file in one precise place,
# for the tests of what restore and incoming migration refuse
# (tests/system/test-save-bad.sh, test-migrate-bad-stream.sh). It knows
# just enough of the format (docs/migration-stream.md) to find the header,
# each section, the RAM image's regions and a RAM_PAGES section's data
# runs; it does not decode CPU or device payloads.
#
#   layout FILE                 one line per part: offset, type, name, length
#   flip FILE WHERE [--fix-crc] flip one bit in place; prints what it did
#   truncate FILE WHERE         cut the file short in place
#   set-magic FILE TEXT         replace the 8-byte magic
#   set-version FILE N          set the header's format version and
#                               recompute the header CRC, so the version
#                               check itself is what refuses the file
#
# WHERE names a place: header (the vmm_version field), magic, version,
# definition, definition-key (a letter of the definition's first JSON key,
# the same place whatever paths the definition holds), ram-data (a byte of a data page: not a hole),
# ram-data-last (of the last data page of a RAM image), ram-table (a
# RAM image region table), device[:NAME], cpu[:N], vm, end, round, or a
# byte offset. For truncate: header (inside it), mid-ram, before-end
# (everything but the END section), after-end (drop whatever follows END,
# e.g. the commit frames of a recorded live migration), or an offset. --fix-crc recomputes the
# section's CRC after the flip, so the payload's own checks are reached.
#
# Files are changed in place: copy first (cp --sparse=always keeps a save
# file's holes). Exit 0 done, 1 with a message when WHERE is not in FILE.
import os
import struct
import sys

HEADER = 68
SECTION = 52
TYPES = {1: 'DEFINITION', 2: 'RAM_PAGES', 3: 'RAM_IMAGE', 4: 'CPU', 5: 'DEVICE',
         6: 'VM', 7: 'ROUND', 8: 'END', 9: 'BLOCKS'}
PAGE = 4096


def crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class Section:
    def __init__(self, offset, raw):
        self.offset = offset
        self.type, self.version, self.instance = struct.unpack_from('<III', raw, 0)
        self.name = raw[12:44].split(b'\0')[0].decode('latin-1')
        self.length, = struct.unpack_from('<Q', raw, 44)
        self.payload = offset + SECTION
        self.crc_at = self.payload + self.length

    def label(self):
        return f'{self.name}[{self.instance}]'


def sections(f):
    """The sections of an open stream, in order, as far as they go."""
    size = os.fstat(f.fileno()).st_size
    off, out = HEADER, []
    while off + SECTION <= size:
        f.seek(off)
        sec = Section(off, f.read(SECTION))
        out.append(sec)
        if sec.type == 8:
            break
        off = sec.crc_at + 4
    return out


def find(f, want):
    """The first section matching TYPE or TYPE:NAME-or-INSTANCE."""
    kind, _, which = want.partition(':')
    for sec in sections(f):
        if TYPES.get(sec.type, '').lower() != kind.replace('-', '_'):
            continue
        if not which or which in (sec.name, str(sec.instance)):
            return sec
    sys.exit(f'corrupt.py: no {want} section in {f.name}')


def image_regions(f, sec):
    f.seek(sec.payload)
    nr, _shift = struct.unpack('<II', f.read(8))
    return [struct.unpack('<QQQ', f.read(24)) for _ in range(nr)]


def data_page_in_image(f, sec, last=False):
    """Offset of the first (or last) non-zero page of a RAM_IMAGE (skipping holes)."""
    fd = f.fileno()
    if last:
        return last_data_page_in_image(f, sec)
    for _gpa, size, offset in image_regions(f, sec):
        pos = offset
        while pos < offset + size:
            try:
                pos = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            if pos >= offset + size:
                break
            page = offset + (pos - offset) // PAGE * PAGE
            f.seek(page)
            if any(f.read(PAGE)):
                return page
            pos = page + PAGE
    sys.exit(f'corrupt.py: no data page in the RAM image of {f.name}')


def last_data_page_in_image(f, sec):
    found = None
    for _gpa, size, offset in image_regions(f, sec):
        page = offset + size - PAGE
        while page >= offset:
            f.seek(page)
            if any(f.read(PAGE)):
                found = page
                break
            page -= PAGE
    if found is None:
        sys.exit(f'corrupt.py: no data page in the RAM image of {f.name}')
    return found


def data_page_in_runs(f, sec):
    """Offset of the first DATA page of a RAM_PAGES section."""
    pos = sec.payload
    while pos < sec.crc_at:
        f.seek(pos)
        _gpa, npages, flags = struct.unpack('<QII', f.read(16))
        if flags == 2:
            return pos + 16
        pos += 16
    sys.exit(f'corrupt.py: no data run in section {sec.label()} of {f.name}')


def first_data_pages(f):
    for sec in sections(f):
        if sec.type == 2:
            f.seek(sec.payload)
            if sec.length >= 16 and struct.unpack('<QII', f.read(16))[2] == 2:
                return sec, data_page_in_runs(f, sec)
    sys.exit(f'corrupt.py: no RAM_PAGES section with data in {f.name}')


def place(f, where):
    """(byte offset, section or None) for a WHERE of flip."""
    if where.isdigit():
        return int(where), None
    fixed = {'magic': 2, 'version': 8, 'header': 20}
    if where in fixed:
        return fixed[where], None
    if where == 'ram-data-last':
        sec = find(f, 'ram_image')
        return data_page_in_image(f, sec, last=True) + PAGE // 2 + 3, sec
    if where == 'ram-data':
        sec = find(f, 'ram_image') if any(s.type == 3 for s in sections(f)) else None
        if sec:
            return data_page_in_image(f, sec) + PAGE // 2 + 3, sec
        sec, at = first_data_pages(f)
        return at + PAGE // 2 + 3, sec
    if where == 'definition-key':
        sec = find(f, 'definition')
        f.seek(sec.payload)
        quote = f.read(sec.length).find(b'"')
        if quote < 0:
            sys.exit(f'corrupt.py: no JSON key in the definition of {f.name}')
        return sec.payload + quote + 2, sec     # second letter: "name" -> "naie"
    if where == 'ram-table':
        sec = find(f, 'ram_image')
        return sec.payload + 8 + 9, sec         # region 0's size, bits 8-15
    if where == 'end':
        sec = find(f, 'end')
        return sec.offset + 4, sec              # the version field
    sec = find(f, where)
    return sec.payload + sec.length // 2, sec


def fix_crc(f, sec):
    if sec.type == 3:
        sys.exit('corrupt.py: --fix-crc does not do RAM images')
    f.seek(sec.offset)
    crc = crc32c(f.read(SECTION + sec.length))
    f.seek(sec.crc_at)
    f.write(struct.pack('<I', crc))


def cmd_flip(path, where, *opts):
    with open(path, 'r+b') as f:
        at, sec = place(f, where)
        f.seek(at)
        byte = f.read(1)
        if not byte:
            sys.exit(f'corrupt.py: offset {at} is past the end of {path}')
        f.seek(at)
        f.write(bytes([byte[0] ^ 0x04]))
        if '--fix-crc' in opts and sec:
            fix_crc(f, sec)
        if '--fix-crc' in opts and not sec:
            fix_header_crc(f)
    what = f'section {sec.label()} at offset {sec.offset}' if sec else 'header'
    print(f'flipped bit 2 of byte {at} ({what}){" and fixed its CRC" if "--fix-crc" in opts else ""}')


def cmd_truncate(path, where):
    with open(path, 'rb') as f:
        if where == 'header':
            at = 30
        elif where == 'mid-ram':
            sec = next((s for s in sections(f) if s.type in (2, 3)), None)
            if not sec:
                sys.exit(f'corrupt.py: no RAM section in {path}')
            if sec.type == 3:
                _gpa, size, offset = image_regions(f, sec)[0]
                at = offset + size // 2 + 1234
            else:
                at = sec.payload + sec.length // 2
        elif where == 'before-end':
            at = find(f, 'end').offset
        elif where == 'after-end':
            at = find(f, 'end').crc_at + 4
        else:
            at = int(where)
    os.truncate(path, at)
    print(f'truncated to {at} bytes')


def fix_header_crc(f):
    f.seek(0)
    head = f.read(HEADER - 4)
    f.write(struct.pack('<I', crc32c(head)))


def cmd_set_magic(path, text):
    magic = text.encode().decode('unicode_escape').encode('latin-1')[:8].ljust(8, b'\0')
    with open(path, 'r+b') as f:
        f.write(magic)
        fix_header_crc(f)
    print(f'magic set to {magic!r}, header CRC recomputed')


def cmd_set_version(path, version):
    with open(path, 'r+b') as f:
        f.seek(8)
        f.write(struct.pack('<I', int(version)))
        fix_header_crc(f)
    print(f'format version set to {version}, header CRC recomputed')


def cmd_layout(path):
    with open(path, 'rb') as f:
        head = f.read(HEADER)
        if len(head) == HEADER:
            ver, flags = struct.unpack_from('<II', head, 8)
            print(f'0 header version={ver} flags={flags}')
        for sec in sections(f):
            print(f'{sec.offset} {TYPES.get(sec.type, sec.type)} {sec.label()} {sec.length}')


def main():
    cmds = {'layout': (cmd_layout, 1), 'flip': (cmd_flip, 2), 'truncate': (cmd_truncate, 2),
            'set-magic': (cmd_set_magic, 2), 'set-version': (cmd_set_version, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) < 2 + cmds[sys.argv[1]][1]:
        sys.exit('usage: corrupt.py layout|flip|truncate|set-magic|set-version FILE ARG')
    cmds[sys.argv[1]][0](*sys.argv[2:])


if __name__ == '__main__':
    main()
