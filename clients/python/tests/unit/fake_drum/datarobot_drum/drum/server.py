from flask import Flask


def create_flask_app():
    return Flask(__name__)
