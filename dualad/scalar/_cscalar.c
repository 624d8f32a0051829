/* Optional C base of dualad.scalar.ScalarDual: its + - * / and unary - in C.
 *
 * Why: a Python-level operator costs an object allocation plus a method call (150-200 ns),
 * which made a 20-operation function about 18x slower on scalar duals than on floats. The
 * slots here do the same float arithmetic as the pure-Python operators of dualad/scalar.py
 * (`_Operators`), in the same order of operations, for the common case only: both operands
 * floats or scalar duals of one tag whose value and tangent are floats. Everything else
 * (nesting, different tags, division by zero, other types) calls those Python operators,
 * which stay the single definition of the semantics; tests/test_scalar.py checks that both
 * give the same bits.
 *
 * Built by setup.py as an optional extension: without a compiler dualad runs the pure-Python
 * operators. Compiled with -ffp-contract=off so that a*b + c is never fused into an FMA
 * (Python does not fuse either).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <math.h>

/* THE guarded product of the chain rule, as dualad.core.partials.times: p * d, except +0.0
   where the tangent p is zero and the derivative d is inf or nan */
static inline double
times(double p, double d)
{
    return (p == 0.0 && !isfinite(d)) ? 0.0 : p * d;
}

typedef struct {
    PyObject_HEAD
    PyObject *value;
    PyObject *tangent;
    PyObject *tag;
} Dual;

enum { ADD, SUB, MUL, DIV, RADD, RSUB, RMUL, RDIV, NEG, NOPS };
static const char *const op_names[NOPS] = {
    "__add__", "__sub__", "__mul__", "__truediv__",
    "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__neg__"};

static PyTypeObject base_type;

/* ScalarDual (the Python subclass) and its pure-Python operators, set by setup() */
static PyTypeObject *dual_type = NULL;
static PyObject *fallback[NOPS];

/* A new scalar dual; steals the references to value and tangent, borrows tag. */
static PyObject *
new_dual(PyObject *value, PyObject *tangent, PyObject *tag)
{
    Dual *s;
    if (value == NULL || tangent == NULL) {
        Py_XDECREF(value);
        Py_XDECREF(tangent);
        return NULL;
    }
    s = (Dual *)dual_type->tp_alloc(dual_type, 0);
    if (s == NULL) {
        Py_DECREF(value);
        Py_DECREF(tangent);
        return NULL;
    }
    Py_INCREF(tag);
    s->value = value;
    s->tangent = tangent;
    s->tag = tag;
    return (PyObject *)s;
}

/* value and tangent as doubles when both are exact floats */
static inline int
float_parts(PyObject *o, double *v, double *t)
{
    Dual *d = (Dual *)o;
    if (!PyFloat_CheckExact(d->value) || !PyFloat_CheckExact(d->tangent))
        return 0;
    *v = PyFloat_AS_DOUBLE(d->value);
    *t = PyFloat_AS_DOUBLE(d->tangent);
    return 1;
}

/* an exact float or int constant as a double, as Python's float arithmetic converts it */
static inline int
constant(PyObject *o, double *c)
{
    if (PyFloat_CheckExact(o)) {
        *c = PyFloat_AS_DOUBLE(o);
        return 1;
    }
    if (PyLong_CheckExact(o)) {
        *c = PyLong_AsDouble(o);
        if (*c == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();  /* too large: the Python operator raises the OverflowError */
            return 0;
        }
        return 1;
    }
    return 0;
}

static PyObject *
call_fallback(int op, PyObject *self, PyObject *other)
{
    PyObject *args[2] = {self, other};
    if (fallback[op] == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "dualad.scalar._cscalar: setup() was not called");
        return NULL;
    }
    return PyObject_Vectorcall(fallback[op], args, other == NULL ? 1 : 2, NULL);
}

static PyObject *
binary(PyObject *a, PyObject *b, int op)
{
    double x, y, p, q, v;
    if (Py_TYPE(a) == dual_type) {
        Dual *da = (Dual *)a;
        if (!float_parts(a, &x, &p))
            return call_fallback(op, a, b);
        if (Py_TYPE(b) == dual_type) {
            if (((Dual *)b)->tag != da->tag || !float_parts(b, &y, &q))
                return call_fallback(op, a, b);
            switch (op) {
            case ADD:
                return new_dual(PyFloat_FromDouble(x + y), PyFloat_FromDouble(p + q), da->tag);
            case SUB:
                return new_dual(PyFloat_FromDouble(x - y), PyFloat_FromDouble(p + -q),
                                da->tag);
            case MUL:
                return new_dual(PyFloat_FromDouble(x * y),
                                PyFloat_FromDouble(p * y + q * x), da->tag);
            default:  /* DIV */
                if (y == 0.0)
                    return call_fallback(op, a, b);
                v = x / y;
                return new_dual(PyFloat_FromDouble(v),
                                PyFloat_FromDouble(times(p, 1.0 / y) + times(q, -v / y)), da->tag);
            }
        }
        if (!constant(b, &y))
            return call_fallback(op, a, b);
        switch (op) {
        case ADD:
            Py_INCREF(da->tangent);
            return new_dual(PyFloat_FromDouble(x + y), da->tangent, da->tag);
        case SUB:
            Py_INCREF(da->tangent);
            return new_dual(PyFloat_FromDouble(x - y), da->tangent, da->tag);
        case MUL:
            return new_dual(PyFloat_FromDouble(x * y), PyFloat_FromDouble(p * y), da->tag);
        default:  /* DIV */
            if (y == 0.0)
                return call_fallback(op, a, b);
            return new_dual(PyFloat_FromDouble(x / y), PyFloat_FromDouble(times(p, 1.0 / y)),
                            da->tag);
        }
    }
    /* b is the scalar dual, a a constant (Python tried a's own operator first) */
    if (PyObject_TypeCheck(a, &base_type))  /* a subclass of ScalarDual */
        return call_fallback(op, a, b);
    {
        Dual *db = (Dual *)b;
        if (Py_TYPE(b) != dual_type || !float_parts(b, &y, &q) || !constant(a, &x))
            return call_fallback(op + RADD, b, a);
        switch (op) {
        case ADD:
            Py_INCREF(db->tangent);
            return new_dual(PyFloat_FromDouble(x + y), db->tangent, db->tag);
        case SUB:
            return new_dual(PyFloat_FromDouble(x - y), PyFloat_FromDouble(-q), db->tag);
        case MUL:
            return new_dual(PyFloat_FromDouble(x * y), PyFloat_FromDouble(q * x), db->tag);
        default:  /* DIV */
            if (y == 0.0)
                return call_fallback(op + RADD, b, a);
            v = x / y;
            return new_dual(PyFloat_FromDouble(v), PyFloat_FromDouble(times(q, -v / y)), db->tag);
        }
    }
}

static PyObject *dual_add(PyObject *a, PyObject *b) { return binary(a, b, ADD); }
static PyObject *dual_sub(PyObject *a, PyObject *b) { return binary(a, b, SUB); }
static PyObject *dual_mul(PyObject *a, PyObject *b) { return binary(a, b, MUL); }
static PyObject *dual_div(PyObject *a, PyObject *b) { return binary(a, b, DIV); }

static PyObject *
dual_neg(PyObject *a)
{
    double x, p;
    if (Py_TYPE(a) != dual_type || !float_parts(a, &x, &p))
        return call_fallback(NEG, a, NULL);
    return new_dual(PyFloat_FromDouble(-x), PyFloat_FromDouble(-p), ((Dual *)a)->tag);
}

static void
dual_dealloc(Dual *self)
{
    Py_XDECREF(self->value);
    Py_XDECREF(self->tangent);
    Py_XDECREF(self->tag);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyNumberMethods dual_as_number = {
    .nb_add = dual_add,
    .nb_subtract = dual_sub,
    .nb_multiply = dual_mul,
    .nb_true_divide = dual_div,
    .nb_negative = (unaryfunc)dual_neg,
};

static PyMemberDef dual_members[] = {
    {"value", T_OBJECT_EX, offsetof(Dual, value), 0, "the value (a float or a scalar dual)"},
    {"tangent", T_OBJECT_EX, offsetof(Dual, tangent), 0,
     "the tangent (a float or a scalar dual)"},
    {"tag", T_OBJECT_EX, offsetof(Dual, tag), 0, "the perturbation tag (an int)"},
    {NULL}};

static PyTypeObject base_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "dualad.scalar._cscalar.Base",
    .tp_basicsize = sizeof(Dual),
    .tp_dealloc = (destructor)dual_dealloc,
    .tp_as_number = &dual_as_number,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Storage and float fast paths of dualad.scalar.ScalarDual.",
    .tp_members = dual_members,
    .tp_new = PyType_GenericNew,
};

/* setup(cls, operators): cls the one subclass (ScalarDual), operators the class whose
 * methods give the pure-Python semantics. */
static PyObject *
setup(PyObject *module, PyObject *args)
{
    PyObject *cls, *ops;
    int i;
    if (!PyArg_ParseTuple(args, "OO:setup", &cls, &ops))
        return NULL;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &base_type)) {
        PyErr_SetString(PyExc_TypeError, "dualad.scalar._cscalar.setup: cls must subclass Base");
        return NULL;
    }
    for (i = 0; i < NOPS; i++) {
        PyObject *f = PyObject_GetAttrString(ops, op_names[i]);
        if (f == NULL)
            return NULL;
        Py_XSETREF(fallback[i], f);
    }
    Py_INCREF(cls);
    Py_XSETREF(dual_type, (PyTypeObject *)cls);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"setup", setup, METH_VARARGS, "Register ScalarDual and its pure-Python operators."},
    {NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "dualad.scalar._cscalar", "Optional C fast path of dualad.scalar.", -1,
    module_methods};

PyMODINIT_FUNC
PyInit__cscalar(void)
{
    PyObject *m;
    if (PyType_Ready(&base_type) < 0)
        return NULL;
    m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    Py_INCREF(&base_type);
    if (PyModule_AddObject(m, "Base", (PyObject *)&base_type) < 0) {
        Py_DECREF(&base_type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
