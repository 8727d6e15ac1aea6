#!/usr/bin/env bash
# hudi-bundles.sh: fetch Hudi's own Spark bundles with Maven's own client into the local Maven
# repository (~/.m2, or MAVEN_REPO_LOCAL) and print "VERSION JAR" per bundle. The conformance
# suite and the Glue job tests run Hudi's Java code from these jars, one JVM per version:
#   0.15.0 -> table version 6 (AWS Glue 5.0, Spark 3.5.4)
#   1.0.2  -> table version 8 (AWS Glue 5.1, Spark 3.5.6)
# No jar is committed. Missing Java or Maven is an error that says what to install.
set -euo pipefail
VERSIONS=${TRIBUTARY_HUDI_VERSIONS:-"0.15.0 1.0.2"}
ARTIFACT=org.apache.hudi:hudi-spark3.5-bundle_2.12

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  echo "error: no Java runtime: Hudi's Spark bundles need a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)" >&2
  exit 1
fi
if ! command -v mvn >/dev/null 2>&1; then
  echo "error: Maven is missing: the Hudi bundles are fetched with Maven's own client (Debian: apt-get install maven)" >&2
  exit 1
fi
repo=${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
for v in $VERSIONS; do
  jar="$repo/org/apache/hudi/hudi-spark3.5-bundle_2.12/$v/hudi-spark3.5-bundle_2.12-$v.jar"
  if [ ! -s "$jar" ]; then
    echo "fetching $ARTIFACT:$v with Maven ..." >&2
    mvn -q -B "-Dmaven.repo.local=$repo" dependency:get "-Dartifact=$ARTIFACT:$v" -Dtransitive=false >&2 || {
      echo "error: Maven could not fetch $ARTIFACT:$v (is Maven Central reachable?)" >&2
      exit 1
    }
  fi
  echo "$v $jar"
done
