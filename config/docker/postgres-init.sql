-- A second database and role for Tributary's metadata, next to Airflow's own.
CREATE ROLE tributary LOGIN PASSWORD 'tributary';
CREATE DATABASE tributary OWNER tributary;
