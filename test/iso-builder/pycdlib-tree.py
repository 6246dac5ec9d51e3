#!/usr/bin/python3
"""What pycdlib reads from an ISO image's Rock Ridge tree, as JSON on stdout.

Usage: /usr/bin/python3 pycdlib-tree.py IMAGE (Debian's python3-pycdlib is installed for /usr/bin/python3)
Prints {"path": {"type": "d"|"f"|"l", "mode": int, "links": int, "target": str?, "sha256": str?}} for every
entry below the root (paths relative, "/"-separated, UTF-8 decoded with surrogate escapes as latin1 would not
round-trip), read through pycdlib's own record parser (not sequentially).
"""
import hashlib
import io
import json
import stat
import sys

import pycdlib


def px_links(rec):
    rr = rec.rock_ridge
    px = rr.dr_entries.px_record or rr.ce_entries.px_record
    return px.posix_file_links if px is not None else None


def main(image):
    iso = pycdlib.PyCdlib()
    iso.open(image)
    out = {}

    def visit(rr_dir, rel_dir):
        for rec in iso.list_children(rr_path=rr_dir):
            if rec is None or rec.is_dot() or rec.is_dotdot():
                continue
            name = rec.rock_ridge.name().decode('utf-8', 'surrogateescape')
            rel = f'{rel_dir}/{name}' if rel_dir else name
            path = f'{rr_dir.rstrip("/")}/{name}'
            mode = rec.rock_ridge.get_file_mode()
            entry = {'mode': stat.S_IMODE(mode), 'links': px_links(rec)}
            if rec.rock_ridge.is_symlink():
                entry['type'] = 'l'
                entry['target'] = rec.rock_ridge.symlink_path().decode('utf-8', 'surrogateescape')
            elif rec.is_dir():
                entry['type'] = 'd'
            else:
                entry['type'] = 'f'
                data = io.BytesIO()
                iso.get_file_from_iso_fp(data, rr_path=path)
                entry['sha256'] = hashlib.sha256(data.getvalue()).hexdigest()
            if rel in out:
                entry['duplicate'] = True
            out[rel] = entry
            if entry['type'] == 'd':
                visit(path, rel)

    visit('/', '')
    iso.close()
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == '__main__':
    main(sys.argv[1])
