"""The ground every stage stands on: typed settings, the error hierarchy, the catalog's product and
request models."""
