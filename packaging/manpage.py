#!/usr/bin/env python3
"""drum-monitor(8) from the binary's own help.

    drum-monitor --experimental-dump-help | packaging/manpage.py --version 0.1.0 --date 2026-12-01

The commands, their options and their descriptions come from ArgumentParser's description of the
command line (the text `--help` prints), so the page cannot drift from the binary. Only what
--help has no place for is written here: the files and units a package installs, the socket's
group, the environment, and where to read more.
"""
import argparse
import json
import sys

FILES = [
    ("/etc/drum-monitor/drum-monitor.yaml",
     "The configuration of drum-monitor.service; every key with its default is documented in the file. "
     "Each key can be overridden by DRUM_MONITOR_<KEY> variables and --<key> flags of serve."),
    ("/etc/drum-monitor/NAME.yaml",
     "The configuration of instance NAME of drum-monitor@.service (one per DRUM server; name it with match, pidfile or pid)."),
    ("/run/drum-monitor/drum-monitor.sock",
     "The query socket, mode 0660, group drum-monitor. /run/drum-monitor/NAME.sock for instance NAME."),
    ("drum-monitor.service, drum-monitor.socket",
     "The systemd units of the default instance (socket activation: the service starts on the first query)."),
    ("drum-monitor@.service, drum-monitor@.socket",
     "Template units: drum-monitor@NAME reads /etc/drum-monitor/NAME.yaml and serves /run/drum-monitor/NAME.sock."),
    ("sysusers.d/drum-monitor.conf",
     "Declares the drum-monitor group; its members may query the daemon (usermod -a -G drum-monitor USER)."),
]

ENVIRONMENT = [
    ("DRUM_MONITOR_CONFIG", "The configuration file of serve when --config is not given."),
    ("DRUM_MONITOR_<KEY>", "Overrides the configuration key KEY (e.g. DRUM_MONITOR_INTERVAL=500ms)."),
    ("DRUM_MONITOR_SOCKET", "The socket query and top ask when neither --socket nor --instance is given "
     "(and, for serve, the socket key)."),
    ("NO_COLOR", "top draws without colour when it is set and not empty (https://no-color.org), as when its output is not a terminal."),
    ("LC_ALL, LC_CTYPE, LANG", "top draws bars and sparklines with block characters in a UTF-8 locale, with ASCII otherwise."),
    ("NOTIFY_SOCKET, LISTEN_FDS, WATCHDOG_USEC",
     "Set by systemd: readiness and status notifications, socket activation and the watchdog. "
     "Without them (e.g. in a container) drum-monitor runs the same, without notifications."),
]

SEE_ALSO = ["systemctl(1)", "systemd.socket(5)", "systemd-sysusers(8)", "sysusers.d(5)"]


def esc(text):
    """Text for a roff line: backslashes, hyphens of options, and a leading control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return text


def para(text):
    """Lines of a paragraph; roff treats a line starting with . or ' as a request."""
    out = []
    for line in text.strip().splitlines():
        line = esc(line.strip())
        if not line:
            out.append(".PP")
            continue
        if line[0] in ".'":
            line = "\\&" + line
        out.append(line)
    return out


def option_names(arg):
    names = []
    for n in arg.get("names", []):
        names.append(("\\-\\-" if n["kind"] == "long" else "\\-") + esc(n["name"]))
    return names


def arguments(cmd):
    return [a for a in cmd.get("arguments", []) if a.get("shouldDisplay", True) and a.get("valueName") != "help"]


def synopsis(path, cmd):
    parts = [f".B {' '.join(path)}"]
    for a in arguments(cmd):
        v = esc(a.get("valueName", "")).upper()
        if a["kind"] == "positional":
            parts.append(f"[\\fI{v}\\fR]" if a.get("isOptional") else f"\\fI{v}\\fR")
        elif a["kind"] == "flag":
            parts.append(f"[{'|'.join(option_names(a))}]")
        else:
            parts.append(f"[{option_names(a)[0]} \\fI{v}\\fR]")
    return [".HP", " ".join(parts)]


def describe(cmd):
    lines = para(cmd.get("abstract", ""))
    if cmd.get("discussion"):
        lines += [".PP"] + para(cmd["discussion"])
    for a in arguments(cmd):
        v = esc(a.get("valueName", "")).upper()
        if a["kind"] == "positional":
            head = f"\\fI{v}\\fR"
        elif a["kind"] == "flag":
            head = ", ".join(f"\\fB{n}\\fR" for n in option_names(a))
        else:
            head = ", ".join(f"\\fB{n}\\fR \\fI{v}\\fR" for n in option_names(a))
        text = a.get("abstract", "")
        if a.get("allValues"):
            text += f" One of: {', '.join(a['allValues'])}."
        if "defaultValue" in a:
            text += f" Default: {a['defaultValue']}."
        lines += [".TP", head] + para(text)
    return lines


def page(doc, version, date):
    root = doc["command"]
    name = root["commandName"]
    subs = [c for c in root.get("subcommands", []) if c.get("shouldDisplay", True) and c["commandName"] != "help"]
    title = esc(name.upper())
    out = [
        f'.TH {title} 8 "{date}" "{esc(name)} {esc(version)}" "System Administration"',
        ".SH NAME",
        f"{esc(name)} \\- {esc(root.get('abstract', '').rstrip('.'))}",
        ".SH SYNOPSIS",
    ]
    for c in subs:
        out += synopsis([name, c["commandName"]], c)
    out += [".HP", f".B {name}", "[\\-\\-version|\\-\\-help]", ".SH DESCRIPTION"]
    out += para(
        f"{name} samples the memory of a DataRobot DRUM model server's cgroup (v1 or v2: current, peak, "
        "the peak within each interval, the effective limit) and the CPU of its whole process tree on a "
        "fixed timer, keeps the history in memory and serves it over a Unix socket as HTTP/JSON "
        "(including DRUM's /stats/ answer and Prometheus metrics); query asks it from scripts and "
        "top shows it live in a terminal."
    )
    if root.get("discussion"):
        out += [".PP"] + para(root["discussion"])
    out.append(".SH COMMANDS")
    for c in subs:
        out += [f'.SS "{esc(name)} {esc(c["commandName"])}"'] + describe(c)
    out += [
        ".SH OPTIONS",
        ".TP", "\\fB\\-\\-version\\fR", "Print the version and the git revision the binary was built from.",
        ".TP", "\\fB\\-h\\fR, \\fB\\-\\-help\\fR", "Print the help of drum\\-monitor or of a command.",
        ".SH FILES",
    ]
    for path, text in FILES:
        out += [".TP", f"\\fI{esc(path)}\\fR"] + para(text)
    out.append(".SH ENVIRONMENT")
    for var, text in ENVIRONMENT:
        out += [".TP", f"\\fB{esc(var)}\\fR"] + para(text)
    out += [".SH SEE ALSO", ", ".join(f"\\fB{esc(s.split('(')[0])}\\fR({s.split('(')[1]}" for s in SEE_ALSO) + "."]
    out += para("The README (README.md in the package's documentation directory) describes the API, the "
                "configuration, several DRUM servers on one host and running in a container.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", required=True)
    ap.add_argument("--date", required=True)
    a = ap.parse_args()
    sys.stdout.write(page(json.load(sys.stdin), a.version, a.date))


if __name__ == "__main__":
    main()
