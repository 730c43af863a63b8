#!/usr/bin/python3
"""Writes a YAML document (docs/openapi.yaml) as compact JSON, for patd to
serve. Debian's python3-yaml; run with /usr/bin/python3, whose modules
those are.

usage: yaml2json.py IN.yaml OUT.json
"""
import json
import sys

import yaml


def main():
    with open(sys.argv[1]) as f:
        doc = yaml.safe_load(f)
    with open(sys.argv[2], 'w') as f:
        json.dump(doc, f, separators=(',', ':'), sort_keys=False)


if __name__ == '__main__':
    main()
