"""Data catalog (AWS Glue) registration of raw Hudi tables, as Hudi's own hive/glue sync does it."""
