"""Avro schemas of Hudi timeline files.

Commit, replace-commit and requested-replace schemas are exactly those found in Spark-written
version 8 tables (shared fixtures ``avsc/``). Clean schemas are those of Hudi 0.15.0 and 1.0.2
(``HoodieCleanerPlan``/``HoodieCleanMetadata.getClassSchema()``, identical in both). Rollback
schemas are written from Hudi's published ``.avsc`` field lists (a subset readers resolve with
defaults).
"""

from __future__ import annotations

import json
from typing import Any

COMMIT_METADATA: dict[str, Any] = json.loads(
    '{"type":"record","name":"HoodieCommitMetadata","namespace":"org.apache.hudi.avro.model","fields":[{"'
    'name":"partitionToWriteStats","type":["null",{"type":"map","values":{"type":"array","items":{"type":'
    '"record","name":"HoodieWriteStat","fields":[{"name":"fileId","type":["null",{"type":"string","avro.j'
    'ava.string":"String"}],"default":null},{"name":"path","type":["null",{"type":"string","avro.java.str'
    'ing":"String"}],"default":null},{"name":"prevCommit","type":["null",{"type":"string","avro.java.stri'
    'ng":"String"}],"default":null},{"name":"numWrites","type":["null","long"],"default":null},{"name":"n'
    'umDeletes","type":["null","long"],"default":null},{"name":"numUpdateWrites","type":["null","long"],"'
    'default":null},{"name":"totalWriteBytes","type":["null","long"],"default":null},{"name":"totalWriteE'
    'rrors","type":["null","long"],"default":null},{"name":"partitionPath","type":["null",{"type":"string'
    '","avro.java.string":"String"}],"default":null},{"name":"totalLogRecords","type":["null","long"],"de'
    'fault":null},{"name":"totalLogFiles","type":["null","long"],"default":null},{"name":"totalUpdatedRec'
    'ordsCompacted","type":["null","long"],"default":null},{"name":"numInserts","type":["null","long"],"d'
    'efault":null},{"name":"totalLogBlocks","type":["null","long"],"default":null},{"name":"totalCorruptL'
    'ogBlock","type":["null","long"],"default":null},{"name":"totalRollbackBlocks","type":["null","long"]'
    ',"default":null},{"name":"fileSizeInBytes","type":["null","long"],"default":null},{"name":"logVersio'
    'n","type":["null","int"],"default":null},{"name":"logOffset","type":["null","long"],"default":null},'
    '{"name":"baseFile","type":["null",{"type":"string","avro.java.string":"String"}],"default":null},{"n'
    'ame":"logFiles","type":["null",{"type":"array","items":{"type":"string","avro.java.string":"String"}'
    ',"default":null}],"default":null},{"name":"cdcStats","type":["null",{"type":"map","values":"long","a'
    'vro.java.string":"String","default":null}],"default":null},{"name":"prevBaseFile","type":["null",{"t'
    'ype":"string","avro.java.string":"String"}],"default":null},{"name":"minEventTime","type":["null","l'
    'ong"],"default":null},{"name":"maxEventTime","type":["null","long"],"default":null},{"name":"runtime'
    'Stats","type":["null",{"type":"record","name":"HoodieRuntimeStats","fields":[{"name":"totalScanTime"'
    ',"type":["null","long"],"default":null},{"name":"totalCreateTime","type":["null","long"],"default":n'
    'ull},{"name":"totalUpsertTime","type":["null","long"],"default":null}]}],"default":null},{"name":"to'
    'talLogFilesCompacted","type":["null","long"],"default":null},{"name":"totalLogReadTimeMs","type":["n'
    'ull","long"],"default":null},{"name":"totalLogSizeCompacted","type":["null","long"],"default":null},'
    '{"name":"tempPath","type":["null",{"type":"string","avro.java.string":"String"}],"default":null},{"n'
    'ame":"numUpdates","type":["null","long"],"default":null}]}},"avro.java.string":"String"}],"default":'
    'null},{"name":"compacted","type":["null","boolean"],"default":null},{"name":"extraMetadata","type":['
    '"null",{"type":"map","values":{"type":"string","avro.java.string":"String"},"avro.java.string":"Stri'
    'ng","default":null}],"default":null},{"name":"version","type":["int","null"],"default":1},{"name":"o'
    'perationType","type":["null",{"type":"string","avro.java.string":"String"}],"default":null}]}'
)

REPLACE_COMMIT_METADATA: dict[str, Any] = json.loads(
    '{"type":"record","name":"HoodieReplaceCommitMetadata","namespace":"org.apache.hudi.avro.model","fiel'
    'ds":[{"name":"partitionToWriteStats","type":["null",{"type":"map","values":{"type":"array","items":{'
    '"type":"record","name":"HoodieWriteStat","fields":[{"name":"fileId","type":["null",{"type":"string",'
    '"avro.java.string":"String"}],"default":null},{"name":"path","type":["null",{"type":"string","avro.j'
    'ava.string":"String"}],"default":null},{"name":"prevCommit","type":["null",{"type":"string","avro.ja'
    'va.string":"String"}],"default":null},{"name":"numWrites","type":["null","long"],"default":null},{"n'
    'ame":"numDeletes","type":["null","long"],"default":null},{"name":"numUpdateWrites","type":["null","l'
    'ong"],"default":null},{"name":"totalWriteBytes","type":["null","long"],"default":null},{"name":"tota'
    'lWriteErrors","type":["null","long"],"default":null},{"name":"partitionPath","type":["null",{"type":'
    '"string","avro.java.string":"String"}],"default":null},{"name":"totalLogRecords","type":["null","lon'
    'g"],"default":null},{"name":"totalLogFiles","type":["null","long"],"default":null},{"name":"totalUpd'
    'atedRecordsCompacted","type":["null","long"],"default":null},{"name":"numInserts","type":["null","lo'
    'ng"],"default":null},{"name":"totalLogBlocks","type":["null","long"],"default":null},{"name":"totalC'
    'orruptLogBlock","type":["null","long"],"default":null},{"name":"totalRollbackBlocks","type":["null",'
    '"long"],"default":null},{"name":"fileSizeInBytes","type":["null","long"],"default":null},{"name":"lo'
    'gVersion","type":["null","int"],"default":null},{"name":"logOffset","type":["null","long"],"default"'
    ':null},{"name":"baseFile","type":["null",{"type":"string","avro.java.string":"String"}],"default":nu'
    'll},{"name":"logFiles","type":["null",{"type":"array","items":{"type":"string","avro.java.string":"S'
    'tring"},"default":null}],"default":null},{"name":"cdcStats","type":["null",{"type":"map","values":"l'
    'ong","avro.java.string":"String","default":null}],"default":null},{"name":"prevBaseFile","type":["nu'
    'll",{"type":"string","avro.java.string":"String"}],"default":null},{"name":"minEventTime","type":["n'
    'ull","long"],"default":null},{"name":"maxEventTime","type":["null","long"],"default":null},{"name":"'
    'runtimeStats","type":["null",{"type":"record","name":"HoodieRuntimeStats","fields":[{"name":"totalSc'
    'anTime","type":["null","long"],"default":null},{"name":"totalCreateTime","type":["null","long"],"def'
    'ault":null},{"name":"totalUpsertTime","type":["null","long"],"default":null}]}],"default":null},{"na'
    'me":"totalLogFilesCompacted","type":["null","long"],"default":null},{"name":"totalLogReadTimeMs","ty'
    'pe":["null","long"],"default":null},{"name":"totalLogSizeCompacted","type":["null","long"],"default"'
    ':null},{"name":"tempPath","type":["null",{"type":"string","avro.java.string":"String"}],"default":nu'
    'll},{"name":"numUpdates","type":["null","long"],"default":null}]}},"avro.java.string":"String"}],"de'
    'fault":null},{"name":"compacted","type":["null","boolean"],"default":null},{"name":"extraMetadata","'
    'type":["null",{"type":"map","values":{"type":"string","avro.java.string":"String"},"avro.java.string'
    '":"String"}],"default":null},{"name":"version","type":["int","null"],"default":1},{"name":"operation'
    'Type","type":["null",{"type":"string","avro.java.string":"String"}],"default":null},{"name":"partiti'
    'onToReplaceFileIds","type":["null",{"type":"map","values":{"type":"array","items":{"type":"string","'
    'avro.java.string":"String"}},"avro.java.string":"String"}],"default":null}]}'
)

REQUESTED_REPLACE_METADATA: dict[str, Any] = json.loads(
    '{"type":"record","name":"HoodieRequestedReplaceMetadata","namespace":"org.apache.hudi.avro.model","f'
    'ields":[{"name":"operationType","type":["null",{"type":"string","avro.java.string":"String"}],"defau'
    'lt":null},{"name":"clusteringPlan","type":["null",{"type":"record","name":"HoodieClusteringPlan","fi'
    'elds":[{"name":"inputGroups","type":["null",{"type":"array","items":{"type":"record","name":"HoodieC'
    'lusteringGroup","fields":[{"name":"slices","type":["null",{"type":"array","items":{"type":"record","'
    'name":"HoodieSliceInfo","fields":[{"name":"dataFilePath","type":["null",{"type":"string","avro.java.'
    'string":"String"}],"default":null},{"name":"deltaFilePaths","type":["null",{"type":"array","items":{'
    '"type":"string","avro.java.string":"String"}}],"default":null},{"name":"fileId","type":["null",{"typ'
    'e":"string","avro.java.string":"String"}]},{"name":"partitionPath","type":["null",{"type":"string","'
    'avro.java.string":"String"}],"default":null},{"name":"bootstrapFilePath","type":["null",{"type":"str'
    'ing","avro.java.string":"String"}],"default":null},{"name":"version","type":["int","null"],"default"'
    ':1}]}}],"default":null},{"name":"metrics","type":["null",{"type":"map","values":"double","avro.java.'
    'string":"String"}],"default":null},{"name":"numOutputFileGroups","type":["int","null"],"default":1},'
    '{"name":"extraMetadata","type":["null",{"type":"map","values":{"type":"string","avro.java.string":"S'
    'tring"},"avro.java.string":"String"}],"default":null},{"name":"version","type":["int","null"],"defau'
    'lt":1}]}}],"default":null},{"name":"strategy","type":["null",{"type":"record","name":"HoodieClusteri'
    'ngStrategy","fields":[{"name":"strategyClassName","type":["null",{"type":"string","avro.java.string"'
    ':"String"}],"default":null},{"name":"strategyParams","type":["null",{"type":"map","values":{"type":"'
    'string","avro.java.string":"String"},"avro.java.string":"String"}],"default":null},{"name":"version"'
    ',"type":["int","null"],"default":1}]}],"default":null},{"name":"extraMetadata","type":["null",{"type'
    '":"map","values":{"type":"string","avro.java.string":"String"},"avro.java.string":"String"}],"defaul'
    't":null},{"name":"version","type":["int","null"],"default":1},{"name":"preserveHoodieMetadata","type'
    '":["null","boolean"],"default":null},{"name":"missingSchedulePartitions","type":["null",{"type":"arr'
    'ay","items":{"type":"string","avro.java.string":"String"}}],"default":null}]}],"default":null},{"nam'
    'e":"extraMetadata","type":["null",{"type":"map","values":{"type":"string","avro.java.string":"String'
    '"},"avro.java.string":"String"}],"default":null},{"name":"version","type":["int","null"],"default":1'
    "}]}"
)

_S = {"type": "string", "avro.java.string": "String"}
_STR_ARRAY = {"type": "array", "items": _S}

INSTANT_INFO: dict[str, Any] = {
    "type": "record",
    "name": "HoodieInstantInfo",
    "namespace": "org.apache.hudi.avro.model",
    "fields": [{"name": "commitTime", "type": _S}, {"name": "action", "type": _S}],
}

ROLLBACK_METADATA: dict[str, Any] = {
    "type": "record",
    "name": "HoodieRollbackMetadata",
    "namespace": "org.apache.hudi.avro.model",
    "fields": [
        {"name": "startRollbackTime", "type": _S},
        {"name": "timeTakenInMillis", "type": "long"},
        {"name": "totalFilesDeleted", "type": "int"},
        {"name": "commitsRollback", "type": _STR_ARRAY},
        {
            "name": "partitionMetadata",
            "type": {
                "type": "map",
                "avro.java.string": "String",
                "values": {
                    "type": "record",
                    "name": "HoodieRollbackPartitionMetadata",
                    "fields": [
                        {"name": "partitionPath", "type": _S},
                        {"name": "successDeleteFiles", "type": _STR_ARRAY},
                        {"name": "failedDeleteFiles", "type": _STR_ARRAY},
                        {
                            "name": "rollbackLogFiles",
                            "type": ["null", {"type": "map", "values": "long", "avro.java.string": "String"}],
                            "default": None,
                        },
                        {
                            "name": "logFilesFromFailedCommit",
                            "type": ["null", {"type": "map", "values": "long", "avro.java.string": "String"}],
                            "default": None,
                        },
                    ],
                },
            },
        },
        {"name": "version", "type": ["int", "null"], "default": 1},
        {"name": "instantsRollback", "type": {"type": "array", "items": INSTANT_INFO}, "default": []},
    ],
}

ROLLBACK_PLAN: dict[str, Any] = {
    "type": "record",
    "name": "HoodieRollbackPlan",
    "namespace": "org.apache.hudi.avro.model",
    "fields": [
        {"name": "instantToRollback", "type": ["null", INSTANT_INFO], "default": None},
        {
            "name": "RollbackRequests",
            "type": [
                "null",
                {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "HoodieRollbackRequest",
                        "fields": [
                            {"name": "partitionPath", "type": _S},
                            {"name": "fileId", "type": ["null", _S], "default": None},
                            {"name": "latestBaseInstant", "type": ["null", _S], "default": None},
                            {"name": "filesToBeDeleted", "type": _STR_ARRAY, "default": []},
                            {
                                "name": "logBlocksToBeDeleted",
                                "type": ["null", {"type": "map", "values": "long", "avro.java.string": "String"}],
                                "default": None,
                            },
                        ],
                    },
                },
            ],
            "default": None,
        },
        {"name": "version", "type": ["int", "null"], "default": 1},
    ],
}

_CLEAN_PARTITION = {
    "type": "record",
    "name": "HoodieCleanPartitionMetadata",
    "fields": [
        {"name": "partitionPath", "type": _S},
        {"name": "policy", "type": _S},
        {"name": "deletePathPatterns", "type": _STR_ARRAY},
        {"name": "successDeleteFiles", "type": _STR_ARRAY},
        {"name": "failedDeleteFiles", "type": _STR_ARRAY},
        {"name": "isPartitionDeleted", "type": ["null", "boolean"], "default": None},
    ],
}
_STR_MAP = {"type": "map", "values": _S, "avro.java.string": "String"}

CLEAN_METADATA: dict[str, Any] = {
    "type": "record",
    "name": "HoodieCleanMetadata",
    "namespace": "org.apache.hudi.avro.model",
    "fields": [
        {"name": "startCleanTime", "type": _S},
        {"name": "timeTakenInMillis", "type": "long"},
        {"name": "totalFilesDeleted", "type": "int"},
        {"name": "earliestCommitToRetain", "type": _S},
        {"name": "lastCompletedCommitTimestamp", "type": _S, "default": ""},
        {
            "name": "partitionMetadata",
            "type": {"type": "map", "values": _CLEAN_PARTITION, "avro.java.string": "String"},
        },
        {"name": "version", "type": ["int", "null"], "default": 1},
        {
            "name": "bootstrapPartitionMetadata",
            "type": ["null", {"type": "map", "values": "HoodieCleanPartitionMetadata", "avro.java.string": "String"}],
            "default": None,
        },
        {"name": "extraMetadata", "type": ["null", _STR_MAP], "default": None},
    ],
}
"""``HoodieCleanMetadata`` of the completed ``.clean`` (the same in Hudi 0.15 and 1.0)."""

CLEANER_PLAN: dict[str, Any] = {
    "type": "record",
    "name": "HoodieCleanerPlan",
    "namespace": "org.apache.hudi.avro.model",
    "fields": [
        {
            "name": "earliestInstantToRetain",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "HoodieActionInstant",
                    "fields": [
                        {"name": "timestamp", "type": _S},
                        {"name": "action", "type": _S},
                        {"name": "state", "type": _S},
                    ],
                },
            ],
            "default": None,
        },
        {"name": "lastCompletedCommitTimestamp", "type": _S, "default": ""},
        {"name": "policy", "type": _S},
        {
            "name": "filesToBeDeletedPerPartition",
            "type": ["null", {"type": "map", "values": _STR_ARRAY, "avro.java.string": "String"}],
            "default": None,
        },
        {"name": "version", "type": ["int", "null"], "default": 1},
        {
            "name": "filePathsToBeDeletedPerPartition",
            "type": [
                "null",
                {
                    "type": "map",
                    "avro.java.string": "String",
                    "values": {
                        "type": "array",
                        "items": {
                            "type": "record",
                            "name": "HoodieCleanFileInfo",
                            "fields": [
                                {"name": "filePath", "type": ["null", _S], "default": None},
                                {"name": "isBootstrapBaseFile", "type": ["null", "boolean"], "default": None},
                            ],
                        },
                    },
                },
            ],
            "default": None,
        },
        {"name": "partitionsToBeDeleted", "type": ["null", _STR_ARRAY], "default": None},
        {"name": "extraMetadata", "type": ["null", _STR_MAP], "default": None},
    ],
}
"""``HoodieCleanerPlan`` of ``.clean.requested`` and ``.clean.inflight`` (Hudi 0.15 and 1.0)."""
