#!/usr/bin/env bash
# The kbuild actions of rules/private/kbuild.bzl, one command each:
#
#   kbuild.sh source   OUT ARCHIVE SHA256 STRIP_PREFIX PATCH...
#   kbuild.sh source   OUT --files SOURCE
#   kbuild.sh config   OUT SOURCE BASE FRAGMENT...
#   kbuild.sh vmlinux  OUTDIR SOURCE CONFIG
#   kbuild.sh modules  OUTDIR SYMVERS SOURCE STATE MODULE_CACHE MODULE...
#   kbuild.sh external OUTDIR SOURCE STATE SYMVERS N SRC1..SRCN MODULE...
#   kbuild.sh image    OUT SOURCE STATE VMLINUX
#
# kbuild decides what to rebuild from mtimes and from the commands recorded
# in .cmd files, so every action rebuilds the same tree:
#  - the tree is built in place (srctree "."), so kbuild's .cmd files name no
#    absolute path; the debug prefix map comes from a response file
#    (KCFLAGS=@../prefix-map) that they name by a relative path;
#  - sources carry mtime $T_SOURCE (or, in the actions after vmlinux, are
#    links to inputs older than the state), and every file the vmlinux build
#    made (the "state", unpacked by later actions) one later mtime, so later
#    actions find the vmlinux build up to date and build only what they are
#    for;
#  - the vmlinux action also builds the boot image from kbuild's vmlinux
#    (its objects go in the state) and then the in-tree modules, whose
#    objects go to a module cache with the sha256 of each source file they
#    were built from: see refresh_sources;
#  - every action builds in a fresh directory of its own below $TMPDIR, and
#    the state names none: see pack_state.
# SOURCE is the tree: a .tar.zst of the `source` command, or a manifest
# (.srcs, `KEY<tab>VALUE` lines: prefix, list, symlinks, patch...) of the
# files themselves, which the action copies (or links) and patches; then
# KBUILD_UNUSED_OUT, if set, gets the files of the list the action did not
# read (Bazel's unused_inputs_list): see write_unused.
# Environment, from the rule: KBUILD_MAKE_ARGS (ARCH=..., CROSS_COMPILE=...,
# LLVM=1), KBUILD_BUILD_TIMESTAMP, KBUILD_BUILD_USER, KBUILD_BUILD_HOST,
# KBUILD_BUILD_VERSION; KBUILD_STRIP_MODULES and KBUILD_UNSTRIPPED_OUT for
# stripped modules; KBUILD_MODULES_FROM_ORDER when `modules` takes its
# MODULEs from kbuild's modules.order instead of checking them against it;
# KBUILD_PLACEHOLDER, what `vmlinux` hands on as vmlinux.unstripped:
# vmlinux.unstripped (the default, 6.15 and later) or vmlinux (before 6.15).
set -euo pipefail

T_SOURCE=@1767225600 # 2026-01-01T00:00:00Z
T_STATE=@1767225601

die() {
	echo "kbuild: $*" >&2
	exit 1
}
[ $# -ge 2 ] || die "usage: kbuild.sh COMMAND OUT ..."
cmd=$1 out=$2
shift 2
top=$PWD
# A fresh directory per action, wherever it runs: actions that share a /tmp
# (remote workers without a sandbox, --spawn_strategy=local) run at once.
# Or, from kbuild-worker (tools/kbuildworker), the directory this action
# left at its last run, kept if it succeeds: see warm_changes.
# Its real path, as kbuild records it (make's CURDIR).
if [ -n "${KBUILD_WARM_DIR:-}" ]; then
	mkdir -p "$KBUILD_WARM_DIR"
	w=$KBUILD_WARM_DIR
else
	w=$(mktemp -d "${TMPDIR:-/tmp}/modhashes-kbuild.XXXXXX")
fi
w=$(cd "$w" && pwd -P)
remove_w() { rm -rf "$w" 2>/dev/null || { chmod -R u+w "$w" && rm -rf "$w"; }; }
# Deleted before the action ends: Bazel's local strategy (and remote
# workers) kill what an action leaves running, a background rm too.
cleanup() {
	[ $? = 0 ] && [ -n "${KBUILD_WARM_DIR:-}" ] || remove_w
}
trap cleanup EXIT
src=$w/src
read -r -a make_args <<<"${KBUILD_MAKE_ARGS:-}"
jobs=$(nproc)

abs() { case $1 in /*) echo "$1" ;; *) echo "$top/$1" ;; esac; }

# Reproducible tar of the files listed on stdin (relative to DIR), all with
# mtime MTIME.
pack() { # DIR MTIME OUT
	tar -C "$1" --null --no-recursion --sort=name --mtime="$2" \
		--owner=0 --group=0 --numeric-owner --format=gnu -cf - --files-from=- |
		zstd -q -T0 -3 -o "$3"
}
unpack_source() { # SOURCE
	source_arg=$1
	mkdir -p "$src"
	case $1 in
	*.srcs)
		files_tree "$1"
		# Links to inputs (link_sources) keep the inputs' mtimes.
		if [ -n "${link_sources:-}" ]; then
			(cd "$src" && find . ! -type l -print0 | xargs -0 touch -d "$T_SOURCE")
		else
			(cd "$src" && find . -print0 | xargs -0 touch -h -d "$T_SOURCE")
		fi
		;;
	*) zstd -q -dc <"$(abs "$1")" | tar -C "$src" -xf - ;;
	esac
	# Each action has its own prefix: map it to where the Make build's is.
	printf '%s\n' "-fdebug-prefix-map=$src=/usr/src/linux" >"$w/prefix-map"
}
manifest() { # KEY SOURCE: the manifest's values for KEY, one a line
	awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$(abs "$2")"
}
# files_tree SOURCE: the tree of a .srcs manifest in $src, patched, with
# the modes of the archive form. $w/files lists its files (NUL-separated,
# below the tree); $w/prefix holds the exec-path prefix they had.
files_tree() {
	local prefix list links p t
	prefix=$(manifest prefix "$1") list=$(manifest list "$1") links=$(manifest symlinks "$1")
	[ -n "$list" ] || die "$1: no list"
	printf '%s' "$prefix" >"$w/prefix"
	# Bazel lists a link as what it points to: files at or below a link's
	# path are left out.
	cut -c$((${#prefix} + 1))- "$(abs "$list")" | awk -v links="${links:+$(abs "$links")}" '
		BEGIN { FS = "\t"; if (links != "") while ((getline l < links) > 0) { split(l, f, "\t"); link[f[1]] = 1 } }
		{ p = $0; while (!(p in link) && sub(/\/[^\/]*$/, "", p)) {} if (!(p in link)) print }' |
		tr '\n' '\0' >"$w/files"
	# The actions after vmlinux link the files to the inputs (1.6 GB are not
	# copied): make follows the links, and an input older than the state
	# they unpack is as good as a copy with mtime $T_SOURCE. Copies are made
	# of an input as new as the state (e.g. with a clock ahead) and of the
	# files a patch changes. The configuration and vmlinux actions copy
	# every file. Bazel keeps a source file's executable bit, cp too.
	mapfile -t patches < <(manifest patch "$1")
	for p in "${patches[@]}"; do sed -n 's|^+++ b/\([^\t]*\).*|\1|p' "$(abs "$p")"; done >"$w/patched"
	FROM=$top/$prefix TO=$src LINK=${link_sources:-} NEWER=${state_time#@} PATCHED=$w/patched \
		perl -0 -MFile::Path=make_path -ne '
		BEGIN { local $/ = "\n"; open(my $p, "<", $ENV{PATCHED}) or die; while (<$p>) { chomp; $patched{$_} = 1 } }
		chomp; my $f = "$ENV{FROM}$_";
		if ($ENV{LINK} && !$patched{$_}) {
			my $mtime = (stat $f)[9];
			if (defined $mtime && $mtime < $ENV{NEWER}) {
				my $d = "$ENV{TO}/$_"; (my $p = $d) =~ s{/[^/]*$}{};
				$made{$p} ||= (-d $p || make_path($p), 1);
				symlink($f, $d) or die "kbuild: $d: $!\n";
				next;
			}
		}
		print "$_\0"' <"$w/files" >"$w/copy"
	(cd "$top/$prefix" && xargs -0 -r cp -L --parents -t "$src" <"$w/copy")
	if [ -n "$links" ]; then
		while IFS=$'\t' read -r p t; do
			[ -n "$p" ] || continue
			case /$p/ in //* | */../* | */./* | *//*) die "$links: '$p' is not a relative path" ;; esac
			[ -n "$t" ] || die "$links: '$p' has no target"
			[ ! -e "$src/$p" ] && [ ! -L "$src/$p" ] || die "$links: '$p' is both a link and a file or directory of srcs"
			mkdir -p "$(dirname "$src/$p")"
			ln -sT "$t" "$src/$p"
		done <"$(abs "$links")"
	fi
	check_tree "the files of srcs" "${prefix%/}"
	apply_patches "the files of srcs" "${patches[@]}"
	if [ -n "${link_sources:-}" ]; then
		(cd "$src" && xargs -0 -r chmod u=rwX,go=rX <"$w/copy" &&
			xargs -0 -r dirname -z -- <"$w/copy" | LC_ALL=C sort -zu | xargs -0 -r chmod u=rwx,go=rx)
	else
		normal_modes
	fi
}
# Modes as git keeps them, 0644 or 0755, whatever the umask or the
# checkout: the same tree gives the same bytes in either form.
normal_modes() { chmod -R u=rwX,go=rX "$src"; }
check_tree() { # WHAT DIR
	[ -f "$src/Makefile" ] && [ -f "$src/Kconfig" ] ||
		die "$1: no kernel tree (Makefile, Kconfig) at '${2:-.}'"
}
apply_patches() { # WHAT PATCH...
	local what=$1 p
	shift
	for p in "$@"; do
		patch -d "$src" -p1 -s -F0 --no-backup-if-mismatch <"$(abs "$p")" >&2 ||
			die "$p does not apply to $what"
	done
}
# write_unused OUT DIR...: after a build from a .srcs manifest, the exec paths of
# the C and assembler sources and headers (.c, .h, .S) of its list that no
# dependency list of the build (.cmd and .d files, gcc's -MD) names, for
# Bazel's unused_inputs_list: an edit to one of them does not re-run the
# action. Conservative: every other file (Makefiles, Kconfig, scripts,
# tables), everything below scripts/ and tools/ (host programs) and every
# file a patch touches counts as read.
# With $made (find's test for what this action made) the files it read
# in the tree are those read by what it made.
write_unused() {
	local out=$1 prefix
	shift
	[ "${source_arg%.srcs}" != "$source_arg" ] || die "KBUILD_UNUSED_OUT without a .srcs manifest"
	names_read "$@" >"$w/read"
	prefix=$(cat "$w/prefix")
	cat "$w/patched" >>"$w/read"
	tr '\0' '\n' <"$w/files" | awk -v prefix="$prefix" -v read="$w/read" '
		BEGIN { while ((getline l < read) > 0) seen[l] = 1 }
		/\.[chS]$/ && !/^(scripts|tools)\// && !($0 in seen) { print prefix $0 }' >"$out"
}
# names_read DIR...: the files (below the tree, one a line) that the
# dependency lists (.cmd and .d files) of what the action made name.
names_read() {
	find "$@" \( -name '.*.cmd' -o -name '*.d' \) -type f "${made[@]}" -print0 |
		xargs -0 -r cat |
		SRC=$src perl -ne '
			s/\$\(wildcard [^)]*\)//g;
			for (split /[\s\\:=]+/) {
				next unless m{^[\w./+-]+$};
				s{^\Q$ENV{SRC}\E/}{}; s{^(\./)+}{};
				my @p;
				for my $c (split m{/}) { if ($c eq "..") { pop @p } elsif ($c ne "." && $c ne "") { push @p, $c } }
				print join("/", @p), "\n" if @p;
			}'
}
unused() { # DIR...: write_unused, if the rule asks
	[ -z "${KBUILD_UNUSED_OUT:-}" ] || write_unused "$KBUILD_UNUSED_OUT" "$@"
}
# The state names the tree by this path, which is no directory.
STATE_SRC=/modhashes-kbuild-state/src
# relocate FROM TO: FROM becomes TO in the regular text files named on stdin
# (NUL-separated, relative to the tree).
relocate() {
	(cd "$src" && xargs -0 -r sh -c 'find "$@" -maxdepth 0 -type f -print0' sh |
		{ xargs -0 -r grep -lZIF -- "$1" || true; } |
		FROM=$1 TO=$2 xargs -0 -r perl -pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g')
}
# pack_state OUT: the files the build made, as the state, naming no build
# directory. kbuild's host tools (objtool, resolve_btfids) are built by
# tools/ make files with absolute paths, and host programs with the
# HOSTCFLAGS of kmake: in their .cmd and .d files the tree becomes
# $STATE_SRC, and unpack_state puts the action's own tree there (else kbuild
# would rebuild them, and so relink vmlinux). Objects that take neither
# KCFLAGS nor HOSTCFLAGS (x86's real mode: REALMODE_CFLAGS) name it in their
# debug information only, which is stripped.
pack_state() { # OUT
	local f target_objcopy=
	made_files | relocate "$src" "$STATE_SRC"
	# gcc wraps the dependency lists it writes (.d files, and the .cmd files
	# that hold them) by the length of the paths in them: one line each.
	(cd "$src" && made_files | { grep -zE '\.(cmd|d)$' || true; } | { xargs -0 -r grep -lZF -- "$STATE_SRC" || true; } |
		xargs -0 -r perl -0pi -e 's/[ \t]*\\\n[ \t]*/ /g')
	# Symbolic links into the tree (kbuild's vmlinux-gdb.py) become relative.
	(cd "$src" && find . -type l "${made[@]}" -lname "$src/*" -print0) |
		while IFS= read -r -d '' f; do
			ln -sfn "$(realpath -s --relative-to="$(dirname "$src/$f")" "$(readlink "$src/$f")")" "$src/$f"
		done
	(cd "$src" && made_files | xargs -0 -r grep -lZF -- "$src" || true) |
		while IFS= read -r -d '' f; do
			[ ! -L "$src/$f" ] || continue
			case $(head -c7 "$src/$f" | tr -d '\0') in
			$'\x7fELF'* | '!<arch>')
				[ -n "$target_objcopy" ] ||
					target_objcopy=$(kmake -s --no-print-directory run-command KBUILD_RUN_COMMAND='echo $(OBJCOPY)')
				objcopy --strip-debug "$src/$f" 2>/dev/null || $target_objcopy --strip-debug "$src/$f" ||
					die "$f names the build directory $src and cannot be stripped"
				! grep -qF -- "$src" "$src/$f" || die "$f names the build directory $src outside its debug information"
				;;
			*) die "$f names the build directory $src" ;;
			esac
		done
	made_files | pack "$src" "$T_STATE" "$1"
}
# The state's files get one mtime, a second ago: newer than the sources and
# than the host's headers, which kbuild's host tools depend on.
state_time=@$(($(date +%s) - 1))
unpack_state() { # STATE: the state, or a module cache after it
	zstd -q -dc <"$(abs "$1")" | tar -C "$src" -xvf - | tr '\n' '\0' >"$w/state.files"
	unpacked
}
unpacked() { # the files of $w/state.files as kbuild left them, at $state_time
	relocate "$STATE_SRC" "$src" <"$w/state.files"
	(cd "$src" && xargs -0 -r touch -h -d "$state_time" <"$w/state.files")
}
# The module cache's list of sources: the sha256 and path of each file of
# the tree (a .srcs manifest's) that the module build read, a name that
# goes through one of the tree's symbolic links as the file it reaches.
MODULE_SOURCES=.modhashes-module-sources
hash_module_sources() {
	names_read "$src" | LC_ALL=C sort -u | tr '\n' '\0' |
		(cd "$src" && SRC=$src LIST=$w/files perl -0 -MDigest::SHA -MCwd=abs_path -ne '
			BEGIN { open(my $l, "<", $ENV{LIST}) or die; local $/ = "\0"; while (<$l>) { chomp; $src{$_} = 1 } }
			chomp; my $f = $_;
			if (!$src{$f} || -l $f) { my $r = abs_path($f) // next; $r =~ s{^\Q$ENV{SRC}\E/}{} or next; $f = $r }
			$sum{$f} = Digest::SHA->new(256)->addfile($f)->hexdigest if $src{$f} && -f $f && !exists $sum{$f};
			END { print "$sum{$_}  $_\n" for sort keys %sum }') >"$src/$MODULE_SOURCES"
}
# refresh_sources: vmlinux's unused list names the module sources, so
# after an edit of one the vmlinux action does not run again and its module
# cache holds objects built from the old file. A source whose content
# differs from the sha256 the cache holds gets a new mtime (a copy, if it is
# a link), and kbuild rebuilds what depends on it, as make would in a tree
# it had built before.
refresh_sources() {
	[ -f "$src/$MODULE_SOURCES" ] || return 0
	(cd "$src" && perl -MDigest::SHA -MFile::Copy=copy -ne '
		chomp; my ($sum, $f) = split(/  /, $_, 2);
		next unless -f $f;
		next if Digest::SHA->new(256)->addfile($f)->hexdigest eq $sum;
		if (-l $f) {
			my $mode = (stat $f)[2] & 07777;
			copy($f, "$f.new") or die "kbuild: $f: $!\n";
			chmod($mode, "$f.new"); rename("$f.new", $f) or die "kbuild: $f: $!\n";
		}
		utime(undef, undef, $f) or die "kbuild: $f: $!\n";
		$n++;
		END { printf STDERR "kbuild: %d source file(s) changed since the module cache was built: rebuilding what depends on them\n", $n if $n }' \
		"$MODULE_SOURCES")
}
# warm_changes ALLOWED...: whether the tree the action left at its last run
# (\$w/warm) is brought up to date by copying the sources whose digest
# changed since (KBUILD_WARM_CHANGED, from kbuild-worker) into it, as an
# edit in a tree make built before: every changed input is one of ALLOWED
# (re-read by every run) or an unpatched file of the tree, none went or
# came, and they are few (many, e.g. another branch, are faster unpacked).
# Those files are listed in \$w/refresh.
warm_changes() {
	[ -f "$w/warm" ] && [ -n "${KBUILD_WARM_CHANGED:-}" ] || return 1
	# A tarball's tree has no files of its own here: it changes as a whole.
	{ [ ! -f "$w/files" ] || tr '\0' '\n' <"$w/files"; } |
		PREFIX=$(cat "$w/prefix" 2>/dev/null) PATCHED=$w/patched TOP=$top perl -e '
		if (open(my $p, "<", $ENV{PATCHED})) { while (<$p>) { chomp; $patched{$_} = 1 } }
		while (<STDIN>) { chomp; $tree{$_} = 1 }
		my %allowed = map { $_ => 1 } @ARGV;
		open(my $c, "<", $ENV{KBUILD_WARM_CHANGED}) or die;
		while (<$c>) {
			chomp; next if $allowed{$_};
			my $f = $_;
			exit 1 unless $f =~ s{^\Q$ENV{PREFIX}\E}{} && $tree{$f} && !$patched{$f} && -f "$ENV{TOP}/$_";
			exit 1 if ++$n > 1000;
			print "$f\n";
		}' "$@" >"$w/refresh"
}
# The files of warm_changes, copied into the tree (a new mtime).
warm_refresh() {
	local f n=0 prefix=
	[ ! -f "$w/prefix" ] || prefix=$(cat "$w/prefix")
	while IFS= read -r f; do
		rm -f "$src/$f"
		cp -L "$top/$prefix$f" "$src/$f"
		chmod u=rwX,go=rX "$src/$f"
		n=$((n + 1))
	done <"$w/refresh"
	echo "kbuild: the tree of this action's last run, $n source file(s) changed since" >&2
}
kmake() {
	make -C "$src" -j"$jobs" "${make_args[@]}" \
		KCFLAGS=@../prefix-map KAFLAGS=@../prefix-map \
		HOSTCFLAGS="-ffile-prefix-map=$src=/usr/src/linux" "$@"
}
# What this action made: find's test, newer than the sources; from the
# module build on, newer than its mark.
made=(-newermt "$T_STATE")
# Files that the build added to the source tree, NUL-separated.
made_files() {
	(cd "$src" && find . \( -type f -o -type l \) "${made[@]}" -print0 | sed -z 's|^\./||')
}

# The modules and image actions reuse their last tree if they can; any
# other action (or one that cannot) builds from nothing.
warm=
if [ -n "${KBUILD_WARM_DIR:-}" ]; then
	allowed=()
	[ "$cmd" != image ] || allowed=("${3:-}")
	if [ "$cmd" = modules ] || [ "$cmd" = image ] && warm_changes "${allowed[@]}"; then
		warm=1
	else
		remove_w
		mkdir -p "$w"
	fi
	rm -f "$w/warm"
fi

case $cmd in
source)
	if [ "${1:-}" = --files ]; then
		[ $# = 2 ] || die "usage: kbuild.sh source OUT --files SOURCE"
		mkdir -p "$src"
		files_tree "$2"
	else
		[ $# -ge 3 ] || die "usage: kbuild.sh source OUT ARCHIVE SHA256 STRIP_PREFIX PATCH..."
		archive=$1 sha256=$2 strip=$3
		shift 3
		got=$(sha256sum <"$archive" | cut -d' ' -f1)
		[ "$got" = "$sha256" ] || die "$archive: sha256 is $got, the rule pins $sha256"
		mkdir -p "$src"
		args=()
		if [ -n "$strip" ]; then
			IFS=/ read -r -a parts <<<"${strip%/}"
			args=(--strip-components=${#parts[@]} "${strip%/}/")
		fi
		case $archive in
		*.tar.xz | *.txz) xz -dc -T0 "$archive" ;;
		*.tar.gz | *.tgz) gzip -dc "$archive" ;;
		*.tar.zst) zstd -q -dc <"$archive" ;;
		*.tar) cat "$archive" ;;
		*) die "$archive: not a .tar, .tar.xz, .tar.gz or .tar.zst" ;;
		esac | tar -C "$src" "${args[@]}" -xf -
		check_tree "$archive" "$strip"
		apply_patches "$archive" "$@"
		normal_modes
	fi
	# Sorted here: tar's --sort does not sort a --files-from list, and find
	# lists in the file system's order.
	(cd "$src" && find . -mindepth 1 -print0 | sed -z 's|^\./||' | LC_ALL=C sort -z) | pack "$src" "$T_SOURCE" "$out"
	;;
config)
	[ $# -ge 2 ] || die "usage: kbuild.sh config OUT SOURCE BASE FRAGMENT..."
	unpack_source "$1"
	base=$2
	shift 2
	kmake -s "$base" >&2
	frags=()
	for f in "$@"; do frags+=("$(abs "$f")"); done
	if [ ${#frags[@]} -gt 0 ]; then
		(cd "$src" && scripts/kconfig/merge_config.sh -m .config "${frags[@]}" >/dev/null)
	fi
	kmake -s olddefconfig >&2
	# Each option as the last fragment that names it sets it (as
	# merge_config.sh merges); "is not set" also holds for an option that
	# olddefconfig leaves out (its dependencies are off).
	bad=0
	while IFS=$'\t' read -r f line; do
		case $line in
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			grep -q "^${opt%% *}=" "$src/.config" || continue
			;;
		*) grep -qxF -- "$line" "$src/.config" && continue ;;
		esac
		echo "kbuild: $f: '$line' is not in the resulting .config (a dependency is missing?)" >&2
		bad=1
	done < <(awk '
		/^CONFIG_[A-Za-z0-9_]*=/ { o = $0; sub(/=.*/, "", o) }
		/^# CONFIG_[A-Za-z0-9_]* is not set$/ { o = $2 }
		/^CONFIG_[A-Za-z0-9_]*=/ || /^# CONFIG_[A-Za-z0-9_]* is not set$/ {
			if (!(o in at)) order[n++] = o
			at[o] = FILENAME "\t" $0
		}
		END { for (i = 0; i < n; i++) print at[order[i]] }' "${frags[@]}" /dev/null)
	[ $bad = 0 ] || exit 1
	cp "$src/.config" "$out"
	unused "$src"
	;;
vmlinux)
	[ $# = 2 ] || die "usage: kbuild.sh vmlinux OUTDIR SOURCE CONFIG"
	unpack_source "$1"
	cp "$2" "$src/.config"
	kmake vmlinux modules_prepare >&2
	# Before 6.15 kbuild's vmlinux, already post-linked, is the placeholder:
	# KBUILD_PLACEHOLDER=vmlinux. It goes out as vmlinux.unstripped either way.
	placeholder=$src/vmlinux.unstripped
	if [ "${KBUILD_PLACEHOLDER:-vmlinux.unstripped}" = vmlinux ]; then
		[ ! -e "$placeholder" ] ||
			die "placeholder = \"vmlinux\" but kbuild linked vmlinux.unstripped (6.15 or later): use the default placeholder"
		placeholder=$src/vmlinux
	fi
	[ -f "$placeholder" ] ||
		die "kbuild linked vmlinux but no vmlinux.unstripped: kernels before 6.15 have none; set kernel_build(placeholder = \"vmlinux\") (and kernel_vmlinux(root_only = True))"
	mkdir -p "$out"
	cp "$placeholder" "$out/vmlinux.unstripped"
	cp "$src/System.map" "$src/include/config/kernel.release" \
		"$src/modules.builtin" "$src/modules.builtin.modinfo" "$out/"
	# The boot image of kbuild's vmlinux: the image action then redoes only
	# what depends on vmlinux (the boot sources count as read).
	kmake -o vmlinux "$(basename "$(kmake -s image_name)")" >&2
	unused "$src"
	pack_state "$out/state.tar.zst"
	# The in-tree modules, on the state as the modules action unpacks it:
	# their objects are the module cache, and their sources are unused above.
	made_files >"$w/state.files"
	unpacked
	touch -d "@$((${state_time#@} + 1))" "$w/mark"
	kmake modules >&2
	made=(-newer "$w/mark")
	[ ! -f "$w/files" ] || hash_module_sources
	pack_state "$out/modules.tar.zst"
	;;
modules | external)
	if [ "$cmd" = modules ]; then
		[ $# -ge 4 ] || die "usage: kbuild.sh modules OUTDIR SYMVERS SOURCE STATE MODULE_CACHE MODULE..."
		symvers=$1
		shift
	else
		[ $# -ge 4 ] || die "usage: kbuild.sh external OUTDIR SOURCE STATE SYMVERS N SRC1..SRCN MODULE..."
	fi
	link_sources=1
	if [ -n "$warm" ]; then
		warm_refresh
	else
		unpack_source "$1"
		unpack_state "$2"
	fi
	shift 2
	if [ "$cmd" = modules ]; then
		[ -n "$warm" ] || { unpack_state "$1" && refresh_sources; }
		shift
		kmake modules >&2
		objtree=$src
	else
		# The in-tree modules' exports, which modpost checks against.
		cp "$1" "$src/Module.symvers"
		touch -d "$state_time" "$src/Module.symvers"
		shift
		# The declared sources, and nothing else that shares their directory.
		objtree=$w/ext
		mkdir "$objtree"
		n=$1
		shift
		for f in "${@:1:n}"; do cp -L "$(abs "$f")" "$objtree/"; done
		chmod -R u+w "$objtree"
		shift "$n"
		printf '%s\n' "-fdebug-prefix-map=$objtree=/usr/src/external" >>"$w/prefix-map"
		# What it read: the files its own build's dependency lists name
		# (vmlinux's are the state's business).
		touch -d "@$((${state_time#@} + 1))" "$w/mark"
		made=(-newer "$w/mark")
		kmake M="$objtree" modules >&2
		unused "$src" "$objtree"
	fi
	# The declared modules must be kbuild's, in kbuild's order; without a
	# list (the rule's directory form) they are kbuild's.
	got=$(sed 's/\.o$/.ko/' "$objtree/modules.order")
	if [ -n "${KBUILD_MODULES_FROM_ORDER:-}" ]; then
		[ $# = 0 ] || die "KBUILD_MODULES_FROM_ORDER and a module list"
		mapfile -t mods <<<"$got"
		[ -n "$got" ] || mods=()
		set -- "${mods[@]}"
	fi
	want=$(printf '%s\n' "$@")
	if [ "$want" != "$got" ]; then
		echo "kbuild: the rule's modules are not those of kbuild's modules.order:" >&2
		diff <(echo "$want") <(echo "$got") | sed -n 's/^</  declared only:/p; s/^>/  built only:/p' >&2
		exit 1
	fi
	mkdir -p "$out"
	cp "$objtree/modules.order" "$out/modules.order"
	[ "$cmd" = external ] || cp "$src/Module.symvers" "$symvers"
	# With KBUILD_STRIP_MODULES the modules are stripped as
	# CONFIG_MODULE_INSTALL_STRIP=1 strips them, with kbuild's own $(STRIP)
	# (CROSS_COMPILE=, LLVM=), and the unstripped ones go to
	# KBUILD_UNSTRIPPED_OUT. The rule must agree with the configuration.
	configured=$(sed -n 's/^CONFIG_MODULE_INSTALL_STRIP="\(.*\)"$/\1/p' "$src/.config")
	want= rule=False
	[ -z "${KBUILD_STRIP_MODULES:-}" ] || { want=1 rule=True; }
	if grep -q '^CONFIG_MODULE_INSTALL_STRIP=' "$src/.config" && [ "$configured" != "$want" ]; then
		die "CONFIG_MODULE_INSTALL_STRIP=\"$configured\" but strip_modules = $rule: the proofs would not cover what make modules_install installs (strip_modules = True is CONFIG_MODULE_INSTALL_STRIP=\"1\")"
	fi
	strip=
	if [ -n "${KBUILD_STRIP_MODULES:-}" ]; then
		strip=$(kmake -s --no-print-directory run-command KBUILD_RUN_COMMAND='echo $(STRIP)')
	fi
	for m in "$@"; do
		mkdir -p "$out/$(dirname "$m")"
		if [ -n "$strip" ]; then
			mkdir -p "$KBUILD_UNSTRIPPED_OUT/$(dirname "$m")"
			cp "$objtree/$m" "$KBUILD_UNSTRIPPED_OUT/$m"
			$strip --strip-debug -o "$out/$m" "$objtree/$m"
		else
			cp "$objtree/$m" "$out/$m"
		fi
	done
	;;
image)
	[ $# = 3 ] || die "usage: kbuild.sh image OUT SOURCE STATE VMLINUX"
	link_sources=1
	if [ -n "$warm" ]; then
		warm_refresh
	else
		unpack_source "$1"
		unpack_state "$2"
	fi
	cp "$3" "$src/vmlinux"
	image=$(kmake -s image_name)
	before=$(sha256sum <"$src/vmlinux")
	# vmlinux itself is not remade from vmlinux.unstripped: it is the final one.
	kmake -o vmlinux "$(basename "$image")" >&2
	[ "$(sha256sum <"$src/vmlinux")" = "$before" ] || die "kbuild rebuilt vmlinux instead of using the final one"
	cp "$src/$image" "$out"
	;;
*) die "unknown command $cmd" ;;
esac
# A tree the next run may bring up to date (warm_changes).
if [ -n "${KBUILD_WARM_DIR:-}" ] && { [ "$cmd" = modules ] || [ "$cmd" = image ]; }; then
	touch "$w/warm"
fi
